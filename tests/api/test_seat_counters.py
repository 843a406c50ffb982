"""The session's seat counters (who is joined now) and the one-statement first join that
checks and bumps them on PostgreSQL: exact after every change of a seat, never the reason a
join gets in where the participants would not allow it."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from liveclass.db import seats as queries
from liveclass.db.database import Database
from liveclass.db.seats import ParticipantRecord
from liveclass.db.tables import PARTICIPANTS, SESSIONS
from liveclass.domain.roles import PUBLISHING_ROLES, SEATED_ROLES, Role
from liveclass.domain.seats import SeatRule
from tests.api.helpers import join, live_session, newcomer
from tests.conftest import Platform

API = "/api/v1/sessions"


async def _counters(db: Database, session_id: uuid.UUID) -> dict[str, int]:
    s = SESSIONS.c
    async with db.reader() as conn:
        row = await conn.one(
            select(s.seated_count, s.publisher_count, s.joined_count).where(s.id == session_id)
        )
    assert row is not None
    return {
        "seated": row["seated_count"],
        "publishing": row["publisher_count"],
        "joined": row["joined_count"],
    }


async def _actual(db: Database, session_id: uuid.UUID) -> dict[str, int]:
    p = PARTICIPANTS.c
    joined = select(func.count()).where(p.session_id == session_id, p.status == "joined")
    async with db.reader() as conn:
        return {
            "seated": await conn.value(joined.where(p.role.in_(SEATED_ROLES))) or 0,
            "publishing": await conn.value(joined.where(p.role.in_(PUBLISHING_ROLES))) or 0,
            "joined": await conn.value(joined) or 0,
        }


async def test_counters_follow_every_change_of_a_seat(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform, default_role="viewer")
    sid, host = uuid.UUID(s["id"]), platform.auth("teacher-1", "teacher")
    db = Database(database_url)
    seen = []

    async def check() -> None:
        counted = await _counters(db, sid)
        assert counted == await _actual(db, sid)
        seen.append(counted)

    try:
        await check()
        assert (await join(client, platform, s["id"], "teacher-1")).status_code == 200
        await check()
        people = {}
        for user in ("student-1", "student-2", "student-3"):
            r = await join(client, platform, s["id"], user)
            assert r.status_code == 200, r.text
            people[user] = r.json()["participant_id"]
            await check()
        changed = await client.patch(
            f"{API}/{s['id']}/participants/{people['student-1']}",
            json={"role": "speaker"},
            headers=host,
        )
        assert changed.status_code == 200, changed.text
        await check()
        left = await client.post(
            f"{API}/{s['id']}/leave", headers=platform.auth("student-2", "student")
        )
        assert left.status_code == 200, left.text
        await check()
        assert (await join(client, platform, s["id"], "student-2")).status_code == 200  # back
        await check()
        kicked = await client.post(
            f"{API}/{s['id']}/participants/{people['student-3']}/kick", headers=host
        )
        assert kicked.status_code == 200, kicked.text
        await check()
        assert (await client.post(f"{API}/{s['id']}/end", headers=host)).status_code == 200
        await check()
    finally:
        await db.close()
    assert seen[0] == {"seated": 0, "publishing": 0, "joined": 0}
    assert {"seated": 3, "publishing": 1, "joined": 4} in seen  # host + three viewers
    assert {"seated": 3, "publishing": 2, "joined": 4} in seen  # one became a speaker
    assert seen[-1] == {"seated": 0, "publishing": 0, "joined": 0}  # ended


async def test_counters_too_high_only_cost_the_slow_path(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    """Counters that say "full" when the participants say otherwise send a join to the
    locked path, which counts the participants, admits, and counts the seats anew."""
    s = await live_session(client, platform, max_participants=2)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)
    try:
        async with db.transaction() as tx:
            await tx.run(
                update(SESSIONS).where(SESSIONS.c.id == sid).values(seated_count=2, joined_count=2)
            )
        r = await join(client, platform, s["id"], "student-1")
        assert r.status_code == 200, r.text
        assert await _counters(db, sid) == await _actual(db, sid)
        assert (await _counters(db, sid))["seated"] == 1
    finally:
        await db.close()


async def test_concurrent_joins_and_leaves_keep_capacity_and_counters(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    s = await live_session(client, platform, max_participants=10)
    sid = uuid.UUID(s["id"])
    first = [f"early-{i}" for i in range(10)]
    for user in first:
        assert (await join(client, platform, s["id"], user)).status_code == 200

    async def leave(user: str) -> httpx.Response:
        return await client.post(f"{API}/{s['id']}/leave", headers=platform.auth(user, "student"))

    later = [f"late-{i}" for i in range(30)]
    answers = await asyncio.gather(
        *(leave(u) for u in first[:5]), *(join(client, platform, s["id"], u) for u in later)
    )
    assert all(r.status_code == 200 for r in answers[:5])
    admitted = sum(r.status_code == 200 for r in answers[5:])
    refused = {r.json()["code"] for r in answers[5:] if r.status_code != 200}
    assert refused <= {"SESSION_FULL"}
    assert 0 <= admitted <= 5  # at most the seats the leaves freed
    db = Database(database_url)
    try:
        counted = await _counters(db, sid)
        assert counted == await _actual(db, sid)
        assert counted["seated"] == 5 + admitted <= 10
    finally:
        await db.close()


async def test_the_one_statement_first_join(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite has no data-modifying CTEs")
    s = await live_session(client, platform, max_participants=2)
    sid = uuid.UUID(s["id"])
    db = Database(database_url)

    async def take(me: ParticipantRecord, **changes: Any) -> bool:
        async with db.reader() as conn:
            found = await queries.seat_of_user(conn, session_id=sid, user_id=me.user_id)
            assert found is not None
            session = replace(found[0], **changes)
            rule = SeatRule.of(
                provider=session.provider, max_participants=session.max_participants, mesh_cap=4
            )
            return await queries.take_first_seat(
                conn, session=session, me=me, limit=rule.limit(Role.VIEWER)
            )

    try:
        a = newcomer(sid, "a")
        assert await take(a)
        assert not await take(newcomer(sid, "a"))  # the same user again: a unique seat
        # the session as the checks saw it no longer holds: the locked path decides
        assert not await take(newcomer(sid, "b"), invite_version=99)
        assert not await take(newcomer(sid, "b"), default_role=Role.SPEAKER)
        assert not await take(newcomer(sid, "b"), password_hash="x")
        assert await take(newcomer(sid, "b"))
        assert not await take(newcomer(sid, "c"))  # full: two of two
        assert await _counters(db, sid) == {"seated": 2, "publishing": 0, "joined": 2}
        assert await _counters(db, sid) == await _actual(db, sid)
        async with db.reader() as conn:
            rows = await queries.all_participants(conn, session_id=sid)
        assert [r for r in rows if r.user_id == "a"] == [a]
    finally:
        await db.close()
