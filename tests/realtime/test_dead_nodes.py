"""A node that dies (SIGKILL) is found dead by another node through the heartbeats in the
database; what it left open is closed as of its last beat, not when somebody noticed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from liveclass.db import nodes as node_records
from liveclass.db.database import Database
from liveclass.db.nodes import NodeRecord
from liveclass.db.tables import ATTENDANCE_INTERVALS, SESSIONS
from liveclass.db.types import utcnow
from tests.conftest import Platform
from tests.realtime.conftest import Classroom, Peer, eventually
from tests.realtime.processes import NodeProcess

Span = tuple[datetime, datetime | None]


@pytest.fixture
def nodes(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """Two real nodes on one database (and one Redis): a on one port, b on another."""
    a = NodeProcess(database_url, tmp_path / "a.log", redis_url=redis_url)
    b = NodeProcess(database_url, tmp_path / "b.log", redis_url=redis_url)
    try:
        a.launch()
        b.launch()
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
async def rooms(
    nodes: tuple[NodeProcess, NodeProcess],
) -> AsyncIterator[tuple[Classroom, Classroom]]:
    a, b = nodes
    async with (
        httpx.AsyncClient(base_url=a.base_url, timeout=10) as api_a,
        httpx.AsyncClient(base_url=b.base_url, timeout=10) as api_b,
    ):
        on_a, on_b = Classroom(a.node, api_a, Platform()), Classroom(b.node, api_b, Platform())
        yield on_a, on_b
        await on_a.close_all()
        await on_b.close_all()


class Records:
    """What the nodes wrote: heartbeats and attendance intervals, read straight from the db."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)

    async def spans_of_node(self, node_id: str) -> list[Span]:
        async with self.db.reader() as r:
            rows = await r.all(
                select(ATTENDANCE_INTERVALS.c.started_at, ATTENDANCE_INTERVALS.c.ended_at).where(
                    ATTENDANCE_INTERVALS.c.node_id == node_id
                )
            )
            return [(row["started_at"], row["ended_at"]) for row in rows]

    async def spans_of(self, pid: str) -> list[Span]:
        async with self.db.reader() as r:
            rows = await r.all(
                select(ATTENDANCE_INTERVALS.c.started_at, ATTENDANCE_INTERVALS.c.ended_at)
                .where(ATTENDANCE_INTERVALS.c.participant_id == uuid.UUID(pid))
                .order_by(ATTENDANCE_INTERVALS.c.started_at)
            )
            return [(row["started_at"], row["ended_at"]) for row in rows]

    async def beat(self, node_id: str) -> NodeRecord | None:
        async with self.db.reader() as r:
            return await node_records.get_node(r, node_id=node_id)

    async def beat_after_all_opened(self, node_id: str) -> bool:
        """The node beat after it counted every socket it holds."""
        spans, beat = await self.spans_of_node(node_id), await self.beat(node_id)
        return bool(spans) and beat is not None and beat.last_seen_at > max(s for s, _ in spans)

    async def all_closed(self, node_id: str) -> bool:
        return all(end is not None for _, end in await self.spans_of_node(node_id))

    async def move_slot_into_past(self, session_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.run(
                update(SESSIONS)
                .where(SESSIONS.c.id == uuid.UUID(session_id))
                .values(scheduled_at=utcnow() - timedelta(hours=3), duration_minutes=60)
            )


@pytest.fixture
async def records(database_url: str) -> AsyncIterator[Records]:
    found = Records(database_url)
    yield found
    await found.db.close()


def _node_of(peer: Peer) -> str:
    """The node holding the socket: the connection id is ``<node id>/<socket>``."""
    return str(peer.of_type("welcome")[0]["connection_id"]).rsplit("/", 1)[0]


async def _kill_after_a_beat(node: NodeProcess, node_id: str, records: Records) -> datetime:
    """Kill the node once it beat after opening everything; return its last beat."""
    await eventually(lambda: records.beat_after_all_opened(node_id))
    node.kill()
    beat = await records.beat(node_id)
    assert beat is not None
    return beat.last_seen_at


async def _get(room: Classroom, path: str) -> Any:
    r = await room.api.get(
        f"/api/v1/sessions/{room.session_id}{path}",
        headers={"Authorization": f"Bearer {room.host_token}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_dead_nodes_attendance_closes_at_its_last_beat_and_its_peers_go(
    nodes: tuple[NodeProcess, NodeProcess], rooms: tuple[Classroom, Classroom], records: Records
) -> None:
    node_a, _ = nodes
    on_a, on_b = rooms
    await on_a.create()
    on_b.session_id, on_b.host_token = on_a.session_id, on_a.host_token
    host = await on_a.enter()
    await on_a.start()
    student = await on_a.enter("student-1", "Sam")
    observer = await on_b.enter("student-2", "Obi")
    a_id = _node_of(host)
    assert _node_of(student) == a_id != _node_of(observer)

    last_beat = await _kill_after_a_beat(node_a, a_id, records)

    # node b finds a dead and closes a's intervals as of its last beat, exactly
    await eventually(lambda: records.all_closed(a_id), within=15)
    assert [end for _, end in await records.spans_of_node(a_id)] == [last_beat, last_beat]
    buried = await records.beat(a_id)
    assert buried is not None and buried.dead_at is not None
    assert buried.last_seen_at == last_beat
    # the observer on b hears that a's people left; lists and stats say they are gone
    await observer.wait_type("peer_left", participant_id=host.pid)
    await observer.wait_type("peer_left", participant_id=student.pid)
    listed = {p["id"]: p["connected"] for p in (await _get(on_b, "/participants"))["items"]}
    assert listed == {host.pid: False, student.pid: False, observer.pid: True}
    assert (await _get(on_b, "/stats"))["connected_participants"] == 1

    # the host comes back on b: no roster entry of a's sockets (b reads attendance afresh)
    await observer.close()
    back = await on_b.open(host.join)
    peers = back.of_type("welcome")[0]["peers"]
    assert student.pid not in [p["participant_id"] for p in peers]
    assert not [p for p in peers if p["connection_id"].startswith(a_id + "/")]


async def test_an_overdue_class_of_a_dead_node_expires(
    nodes: tuple[NodeProcess, NodeProcess], rooms: tuple[Classroom, Classroom], records: Records
) -> None:
    node_a, _ = nodes
    on_a, on_b = rooms
    await on_a.create()
    on_b.session_id, on_b.host_token = on_a.session_id, on_a.host_token
    host = await on_a.enter()
    await on_a.start()
    await on_a.enter("student-1")
    await records.move_slot_into_past(on_a.session_id)
    await _kill_after_a_beat(node_a, _node_of(host), records)

    async def ended() -> bool:
        return bool((await _get(on_b, ""))["status"] == "ended")

    await eventually(ended, within=15)
    assert (await _get(on_b, ""))["end_reason"] == "expired"


async def test_a_node_found_dead_while_it_was_only_paused_reconnects_its_sockets(
    nodes: tuple[NodeProcess, NodeProcess], rooms: tuple[Classroom, Classroom], records: Records
) -> None:
    node_a, _ = nodes
    on_a, _ = rooms
    await on_a.create()
    host = await on_a.enter()
    a_id = _node_of(host)
    await eventually(lambda: records.beat_after_all_opened(a_id))

    node_a.pause()

    async def buried() -> bool:
        beat = await records.beat(a_id)
        return beat is not None and beat.dead_at is not None

    try:
        await eventually(buried, within=15)
    finally:
        node_a.resume()
    # a beats again, learns it was counted out, and its sockets reconnect to be counted anew
    code, reason = await host.wait_closed(within=10)
    assert (code, reason.split(":")[0]) == (1012, "RESTARTING")
    again = await on_a.open(host.join)
    spans = await records.spans_of(again.pid)
    assert len(spans) == 2 and spans[0][1] is not None and spans[1][1] is None


async def test_a_restarted_node_does_not_count_its_downtime(
    database_url: str, tmp_path: Path, records: Records
) -> None:
    node = NodeProcess(database_url, tmp_path / "node.log")
    try:
        node.start()
        async with httpx.AsyncClient(base_url=node.base_url, timeout=10) as api:
            room = Classroom(node.node, api, Platform())
            await room.create()
            host = await room.enter()
            last_beat = await _kill_after_a_beat(node, _node_of(host), records)
            await room.close_all()

            node.start()  # same port, same node id
            [(started, ended)] = await records.spans_of(host.pid)
            assert ended == last_beat
            [me] = (await _get(room, "/participants"))["items"]
            assert me["connected"] is False
            assert me["total_seconds"] == round((last_beat - started).total_seconds(), 3)
    finally:
        node.stop()
