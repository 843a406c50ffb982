"""A first join's writes: its seat, the peak and its outbox event, on the asyncpg path
(PostgreSQL) as on the Core path (SQLite, and PostgreSQL through a Core connection)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from liveclass.db import outbox
from liveclass.db import seats as queries
from liveclass.db.database import Database, Tx
from liveclass.db.outbox import OutboxEvent
from liveclass.db.seats import ParticipantRecord, build_participant
from liveclass.db.sessions import get_session
from liveclass.db.tables import PARTICIPANTS, SESSIONS
from liveclass.db.types import utcnow
from liveclass.domain.roles import Role
from liveclass.domain.seats import SeatRule
from tests.api.helpers import join, live_session, newcomer
from tests.conftest import Platform

Row = dict[str, Any]


async def _joined_events(db: Database) -> list[OutboxEvent]:
    async with db.transaction() as tx:
        due = await outbox.due_events(tx, now=utcnow() + timedelta(seconds=1), limit=100)
    return [e for e in due if e.event_type == "participant.joined"]


async def test_a_first_join_writes_its_seat_peak_and_event(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    before = datetime.now(UTC)
    r = await join(client, platform, s["id"], "student-1")
    assert r.status_code == 200, r.text
    db = Database(database_url)
    try:
        async with db.reader() as conn:
            me = await queries.get_by_user(conn, session_id=uuid.UUID(s["id"]), user_id="student-1")
            session = await get_session(conn, session_id=uuid.UUID(s["id"]))
        events = await _joined_events(db)
    finally:
        await db.close()
    assert me is not None and session is not None
    assert (str(me.id), me.name, me.role, me.status) == (
        r.json()["participant_id"],
        "Student-1",
        "viewer",
        "joined",
    )
    assert me.token_version == 1
    assert me.first_joined_at == me.last_joined_at == me.created_at >= before
    assert me.left_at is None and me.kicked_at is None
    assert session.peak_participants == 1
    assert session.updated_at >= before  # raising the peak touches it, as before
    [event] = events
    assert event.payload == {
        "participant_id": str(me.id),
        "user_id": "student-1",
        "status": "joined",
    }
    assert event.session_id == me.session_id
    assert event.attempts == 0 and event.delivered_at is None and event.last_error is None
    assert before <= event.created_at <= datetime.now(UTC)
    assert before <= event.next_attempt_at <= datetime.now(UTC)
    assert isinstance(event.id, uuid.UUID)


async def _first_join(tx: Tx, session_id: uuid.UUID, user_id: str) -> ParticipantRecord:
    """A new seat as ``control.participants._join_locked`` takes it (on PostgreSQL's
    asyncpg path the three writes are one statement)."""
    room = await queries.lock_room(tx, session_id=session_id, user_id=user_id)
    assert room is not None and room.me is None
    me = newcomer(session_id, user_id)
    rule = SeatRule.of(provider="mesh", max_participants=100, mesh_cap=4)
    assert await queries.take_seat(tx, room=room, me=me, limit=rule.limit(Role.VIEWER))
    return me


def _comparable(row: Mapping[str, Any] | OutboxEvent, *, drop: tuple[str, ...]) -> Row:
    values = asdict(row) if isinstance(row, OutboxEvent) else dict(row.items())
    return {k: v for k, v in values.items() if k not in drop}


async def test_the_asyncpg_path_writes_what_the_core_path_writes(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has only the Core path")
    s = await live_session(client, platform)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)
    try:
        async with db.transaction() as tx:  # asyncpg, straight on the connection
            assert tx.driver is not None
            fast = await _first_join(tx, sid, "student-a")
        async with db.engine.begin() as conn:  # SQLAlchemy Core, as on SQLite
            slow = await _first_join(Tx(conn, None), sid, "student-b")
        async with db.transaction() as tx:
            rows = {
                r["user_id"]: r
                for r in await tx.all(select(PARTICIPANTS).where(PARTICIPANTS.c.session_id == sid))
            }
            found = await get_session(tx, session_id=sid)
            assert found is not None
            peak = found.peak_participants
            # an event's JSON payload, nested, written by each path
            nested = {"participant_id": "x", "nested": {"n": [1, None]}}
        async with db.transaction() as hot:
            assert hot.driver is not None
            await outbox.add(hot, event_type="test.nested", session_id=sid, payload=nested)
        async with db.engine.begin() as conn:
            await outbox.add(
                Tx(conn, None), event_type="test.nested", session_id=sid, payload=nested
            )
        events = {e.payload["user_id"]: e for e in await _joined_events(db)}
        async with db.transaction() as tx:
            due = await outbox.due_events(tx, now=utcnow() + timedelta(seconds=1), limit=100)
        written = [e.payload for e in due if e.event_type == "test.nested"]
    finally:
        await db.close()
    # each row reads back as the record that was written, by column name
    assert build_participant(rows["student-a"]) == fast
    assert build_participant(rows["student-b"]) == slow
    assert peak == 2  # raised by each path in turn
    differ = ("id", "user_id", "name", "first_joined_at", "last_joined_at", "created_at")
    assert _comparable(rows["student-a"], drop=differ) == _comparable(
        rows["student-b"], drop=differ
    )
    a, b = events["student-a"], events["student-b"]
    assert a.payload == {"participant_id": str(fast.id), "user_id": "student-a", "status": "joined"}
    assert a.payload == {**b.payload, "participant_id": str(fast.id), "user_id": "student-a"}
    assert written == [nested, nested]
    unlike = ("id", "payload", "created_at", "next_attempt_at")
    assert _comparable(a, drop=unlike) == _comparable(b, drop=unlike)


async def test_a_seat_update_loses_to_a_change_committed_meanwhile(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    assert (await join(client, platform, s["id"], "student-1")).status_code == 200
    db = Database(database_url)
    try:
        async with db.reader() as conn:
            found = await queries.seat_of_user(
                conn, session_id=uuid.UUID(s["id"]), user_id="student-1"
            )
        assert found is not None and found[1] is not None
        was = found[1]
        renamed = replace(was, name="Renamed")
        async with db.transaction() as tx:  # a kick bumped the token version meanwhile
            assert not await queries.seat_again(tx, me=renamed, was=replace(was, token_version=0))
        async with db.transaction() as tx:
            assert await queries.seat_again(tx, me=renamed, was=was)
            assert await queries.seat_again(tx, me=renamed, was=renamed)  # nothing to write
        async with db.reader() as conn:
            row = await queries.get_by_user(conn, session_id=was.session_id, user_id="student-1")
    finally:
        await db.close()
    assert row is not None
    assert asdict(row) == asdict(renamed)


async def test_a_failed_first_join_leaves_nothing(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)

    async def join_then_fail() -> None:
        async with db.transaction() as tx:
            await _first_join(tx, sid, "student-1")
            raise LookupError  # e.g. the session is full

    try:
        with pytest.raises(LookupError):
            await join_then_fail()
        async with db.transaction() as tx:  # the next one is not held up by a leftover lock
            await _first_join(tx, sid, "student-2")
        async with db.reader() as conn:
            assert await queries.get_by_user(conn, session_id=sid, user_id="student-1") is None
            assert await queries.get_by_user(conn, session_id=sid, user_id="student-2")
        assert [e.payload["user_id"] for e in await _joined_events(db)] == ["student-2"]
    finally:
        await db.close()


async def test_the_peak_only_rises(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)

    async def peak_now() -> int:
        async with db.reader() as conn:
            found = await get_session(conn, session_id=sid)
            assert found is not None
            return found.peak_participants

    try:
        async with db.transaction() as tx:
            a = await _first_join(tx, sid, "a")
        async with db.transaction() as tx:
            await _first_join(tx, sid, "b")
        assert await peak_now() == 2
        async with db.transaction() as tx:  # a leaves: one joined, the peak stays
            room = await queries.lock_room(tx, session_id=sid, user_id="a")
            assert room is not None and room.me == a
            await queries.leave(tx, me=a, at=utcnow())
        async with db.transaction() as tx:
            await _first_join(tx, sid, "c")  # two joined again: not above the peak
        assert await peak_now() == 2
        async with db.transaction() as tx:
            await tx.run(
                update(SESSIONS)
                .where(SESSIONS.c.id == sid)
                .values(peak_participants=5, updated_at=utcnow())
            )
        async with db.transaction() as tx:
            await _first_join(tx, sid, "d")  # three joined: below 5, kept at 5
        assert await peak_now() == 5
        async with db.reader() as conn:
            users = {p.user_id for p in await queries.all_participants(conn, session_id=sid)}
        assert users == {"a", "b", "c", "d"}
        assert len(await _joined_events(db)) == 4
    finally:
        await db.close()
