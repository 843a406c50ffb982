"""Hostile frames: nesting too deep for the decoder, and floods of any message type."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from liveclass.realtime.protocol import MAX_DEPTH
from tests.realtime.conftest import Classroom, Peer, eventually

# About a thousand levels: deeper than the JSON decoder recurses, far under the size limit.
DEEP = 1000


def _candidate(to: str, n: int) -> dict[str, object]:
    line = f"candidate:{n} 1 udp 2122260223 192.0.2.{n % 250} {50000 + n} typ host generation 0"
    return {
        "type": "candidate",
        "to": to,
        "candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0},
    }


async def _count_is(peer: Peer, sender: Peer, expected: int) -> bool:
    """Whether ``peer`` got exactly ``expected`` candidates (not the end marker) of ``sender``."""
    got = [c for c in peer.of_type("candidate") if c.get("from") == sender.pid]
    return len([c for c in got if c.get("candidate") is not None]) == expected


@pytest.mark.parametrize(
    "frame",
    [
        "[" * DEEP + "]" * DEEP,
        '{"a":' * DEEP + "1" + "}" * DEEP,
        '{"type": "stats", "report": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}",
        '{"type": "ping", "nonce": ' + "[" * DEEP + "]" * DEEP + "}",
    ],
    ids=["list", "dict", "inside-stats", "inside-ping"],
)
async def test_deeply_nested_frames_get_an_error_and_the_socket_stays(
    classroom: Classroom, frame: str
) -> None:
    await classroom.create()
    host = await classroom.enter()
    assert len(frame.encode()) < classroom.node.settings.ws_max_message_bytes
    await host.ws.send(frame)
    error = await host.wait_type("error")
    assert error["code"] == "BAD_MESSAGE" and str(MAX_DEPTH) in error["detail"]
    await host.send({"type": "ping", "nonce": "alive"})
    await host.wait_type("pong", nonce="alive")
    assert not host.closed.is_set()


async def test_nesting_up_to_the_limit_is_accepted(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    report = '{"a":' * (MAX_DEPTH - 1) + "1" + "}" * (MAX_DEPTH - 1)
    await host.ws.send('{"type": "stats", "report": ' + report + "}")
    await host.send({"type": "ping", "nonce": "after"})
    await host.wait_type("pong", nonce="after")
    assert host.of_type("error") == []


async def test_a_flood_of_candidates_is_closed_with_flooding(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    flooder = await classroom.enter("student-1")
    signaling_burst = classroom.node.settings.ws_burst * 10

    for n in range(signaling_burst * 10):
        if flooder.closed.is_set():
            break
        await flooder.send(_candidate(host.pid, n))
    code, reason = await flooder.wait_closed(within=10)
    assert (code, reason.split(":")[0]) == (1008, "FLOODING")
    assert any(e["code"] == "RATE_LIMITED" for e in flooder.of_type("error"))
    await host.wait_type("peer_left", participant_id=flooder.pid)


async def test_a_flood_of_garbage_frames_is_closed_with_flooding(classroom: Classroom) -> None:
    await classroom.create()
    flooder = await classroom.enter()
    for _ in range(classroom.node.settings.ws_burst * 10):
        if flooder.closed.is_set():
            break
        await flooder.ws.send("not json")
    code, reason = await flooder.wait_closed()
    assert (code, reason.split(":")[0]) == (1008, "FLOODING")


async def test_a_mesh_call_setup_burst_of_candidates_all_goes_through(
    classroom: Classroom,
) -> None:
    """Joining a mesh of five: an offer and thirty candidates to each of four peers, at once."""
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    peers = [await classroom.enter(f"student-{n}") for n in range(1, 4)]
    newcomer = await classroom.enter("student-9")
    targets = [host, *peers]

    for peer in targets:
        await newcomer.send({"type": "offer", "to": peer.pid, "sdp": "v=0", "streams": {}})
        for n in range(30):
            await newcomer.send(_candidate(peer.pid, n))
    await newcomer.send({"type": "candidate", "to": host.pid, "candidate": None})

    await host.wait_type("candidate", sender=newcomer.pid, candidate=None, within=10)
    for peer in targets:
        relayed = await peer.wait_for(lambda m: m.get("type") == "offer", within=10)
        assert relayed["from"] == newcomer.pid
        count = functools.partial(_count_is, peer, newcomer, 30)
        await eventually(count, within=10)
    assert newcomer.of_type("error") == []
    assert not newcomer.closed.is_set()


@asynccontextmanager
async def _table_missing(database_url: str, table: str) -> AsyncIterator[None]:
    """The database loses a table for a while: the server's next write to it fails."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
        await engine.dispose()


async def test_a_server_failure_handling_a_message_closes_with_1011_not_1006(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    # starting the class records an outbox event; that write fails
    async with _table_missing(classroom.node.settings.database_url, "outbox_events"):
        await host.send({"type": "start_session"})
        code, reason = await host.wait_closed()
    assert (code, reason.split(":")[0]) == (1011, "INTERNAL_ERROR")
    again = await classroom.open(host.join)
    await again.send({"type": "start_session"})
    await again.wait_type("session_started")
