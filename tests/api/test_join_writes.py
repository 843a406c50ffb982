"""A first join's writes: its seat, the peak and its outbox event, on the asyncpg path
(PostgreSQL) as on the Core path (SQLite, and PostgreSQL through ``Database.write``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from liveclass.db import outbox
from liveclass.db import participants as queries
from liveclass.db.database import Database, Tx, Writer
from liveclass.db.participants import ParticipantRecord
from liveclass.db.tables import LiveSessionRow, OutboxEventRow, ParticipantRow
from liveclass.db.types import utcnow
from tests.api.helpers import join, live_session, newcomer
from tests.conftest import Platform

Row = dict[str, Any]


async def _joined_events(db: Database) -> list[OutboxEventRow]:
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
        async with db.transaction() as tx:
            me = await queries.get_by_user(tx, uuid.UUID(s["id"]), "student-1")
            session = await tx.orm.get(LiveSessionRow, uuid.UUID(s["id"]))
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


async def _first_join(tx: Writer, session_id: uuid.UUID, user_id: str) -> ParticipantRecord:
    """The statements of ``control.participants._join_locked`` for a new seat (on
    PostgreSQL's asyncpg path the three writes are one statement)."""
    session = await queries.lock_session(tx, session_id)
    assert session is not None
    was, others = await queries.me_and_others(tx, session_id, user_id)
    assert was is None
    me = newcomer(session_id, user_id)
    payload = {"participant_id": str(me.id), "user_id": user_id, "nested": {"n": [1, None]}}
    event = outbox.event_values("participant.joined", session_id=session_id, payload=payload)
    await queries.seat_first_time(tx, me, peak=others.everyone + 1, event=event)
    return me


def _comparable(row: ParticipantRow | OutboxEventRow, *, drop: tuple[str, ...]) -> Row:
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns}
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
        async with db.writer() as tx:  # asyncpg, straight on the connection
            assert tx.driver is not None
            fast = await _first_join(tx, sid, "student-a")
        async with db.engine.begin() as conn:  # SQLAlchemy Core, as on SQLite
            slow = await _first_join(Tx(conn, None), sid, "student-b")
        async with db.transaction() as tx:
            rows = {
                r.user_id: r
                for r in await tx.orm.scalars(
                    select(ParticipantRow).where(ParticipantRow.session_id == sid)
                )
            }
            peak = (await tx.orm.get(LiveSessionRow, sid)).peak_participants  # type: ignore[union-attr]
        events = {e.payload["user_id"]: e for e in await _joined_events(db)}
    finally:
        await db.close()
    # each row reads back as the record that was written, through the ORM
    assert ParticipantRecord.of_row(rows["student-a"]) == fast
    assert ParticipantRecord.of_row(rows["student-b"]) == slow
    assert peak == 2  # raised by each path in turn
    differ = ("id", "user_id", "name", "first_joined_at", "last_joined_at", "created_at")
    assert _comparable(rows["student-a"], drop=differ) == _comparable(
        rows["student-b"], drop=differ
    )
    a, b = events["student-a"], events["student-b"]
    assert a.payload == {
        "participant_id": str(fast.id),
        "user_id": "student-a",
        "nested": {"n": [1, None]},
    }
    assert a.payload == {**b.payload, "participant_id": str(fast.id), "user_id": "student-a"}
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
            found = await queries.seat_of_user(conn, uuid.UUID(s["id"]), "student-1")
        assert found is not None and found[1] is not None
        was = found[1]
        renamed = replace(was, name="Renamed", left_at=utcnow())
        async with db.writer() as tx:  # a kick bumped the token version meanwhile
            assert not await queries.update_seat(tx, renamed, was=replace(was, token_version=0))
        async with db.writer() as tx:
            assert await queries.update_seat(tx, renamed, was=was)
            assert await queries.update_seat(tx, renamed, was=renamed)  # nothing to write
        async with db.transaction() as tx:
            row = await queries.get_by_user(tx, was.session_id, "student-1")
    finally:
        await db.close()
    assert row is not None
    assert asdict(ParticipantRecord.of_row(row)) == asdict(renamed)


async def test_a_failed_first_join_leaves_nothing(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)

    async def join_then_fail() -> None:
        async with db.writer() as tx:
            await _first_join(tx, sid, "student-1")
            raise LookupError  # e.g. the session is full

    try:
        with pytest.raises(LookupError):
            await join_then_fail()
        async with db.writer() as tx:  # the next one is not held up by a leftover lock
            await _first_join(tx, sid, "student-2")
        async with db.transaction() as orm:
            assert await queries.get_by_user(orm, sid, "student-1") is None
            assert await queries.get_by_user(orm, sid, "student-2") is not None
        assert [e.payload["user_id"] for e in await _joined_events(db)] == ["student-2"]
    finally:
        await db.close()


async def test_the_peak_only_rises(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)

    async def seat(user_id: str, peak: int | None) -> None:
        async with db.writer() as tx:
            await queries.lock_session(tx, sid)
            me = newcomer(sid, user_id)
            event = outbox.event_values("participant.joined", session_id=sid, payload={})
            await queries.seat_first_time(tx, me, peak=peak, event=event)

    async def peak_now() -> int:
        async with db.transaction() as tx:
            row = await tx.orm.get(LiveSessionRow, sid, populate_existing=True)
            assert row is not None
            return row.peak_participants

    try:
        await seat("a", 5)
        assert await peak_now() == 5
        await seat("b", 3)  # lower: kept at 5
        assert await peak_now() == 5
        await seat("c", None)  # not rising: left alone
        assert await peak_now() == 5
        async with db.transaction() as tx:
            users = set(
                await tx.orm.scalars(
                    select(ParticipantRow.user_id).where(ParticipantRow.session_id == sid)
                )
            )
        assert users == {"a", "b", "c"}
        assert len(await _joined_events(db)) == 3
    finally:
        await db.close()
