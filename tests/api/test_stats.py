"""``GET .../stats``: current, peak and unique participants, duration, attendance."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from liveclass.db import attendance
from liveclass.db.tables import ATTENDANCE_INTERVALS
from liveclass.db.types import utcnow
from liveclass.services import Services
from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform

API = "/api/v1/sessions"


def host(platform: Platform) -> dict[str, str]:
    return platform.auth("teacher-1", "teacher")


async def _connect(
    app: FastAPI, session_id: str, participant_id: str, connection: str, *, minutes_ago: int
) -> None:
    """Stand in for the realtime channel: an attendance interval opened ``minutes_ago``."""
    services: Services = app.state.services
    async with services.db.transaction() as tx:
        await attendance.open_interval(
            tx,
            session_id=uuid.UUID(session_id),
            participant_id=uuid.UUID(participant_id),
            connection_id=connection,
        )
    async with services.db.transaction() as tx:
        await tx.run(
            update(ATTENDANCE_INTERVALS)
            .where(ATTENDANCE_INTERVALS.c.connection_id == connection)
            .values(started_at=utcnow() - timedelta(minutes=minutes_ago))
        )


async def _disconnect(app: FastAPI, connection: str, *, minutes_ago: int) -> None:
    services: Services = app.state.services
    async with services.db.transaction() as tx:
        await attendance.close_interval(
            tx, connection_id=connection, at=utcnow() - timedelta(minutes=minutes_ago)
        )


async def test_empty_scheduled_session(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    r = await client.get(f"{API}/{s['id']}/stats", headers=host(platform))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "scheduled"
    assert (body["current_participants"], body["peak_participants"]) == (0, 0)
    assert (body["total_unique_participants"], body["duration_seconds"]) == (0, 0.0)
    assert body["attendance"] == []


async def test_counts(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    for user in ("a", "b", "c"):
        assert (await join(client, platform, s["id"], user)).status_code == 200
    await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("a", "student"))
    await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("b", "student"))
    await join(client, platform, s["id"], "d")
    r = await client.get(f"{API}/{s['id']}/stats", headers=host(platform))
    body = r.json()
    assert body["current_participants"] == 2  # c, d
    assert body["peak_participants"] == 3  # a, b, c at once
    assert body["total_unique_participants"] == 4
    assert {a["user_id"]: a["status"] for a in body["attendance"]} == {
        "a": "left",
        "b": "left",
        "c": "joined",
        "d": "joined",
    }
    assert body["duration_seconds"] >= 0


async def test_waiting_people_are_not_counted(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform, waiting_room=True)
    await join(client, platform, s["id"], "w")
    body = (await client.get(f"{API}/{s['id']}/stats", headers=host(platform))).json()
    assert (body["current_participants"], body["total_unique_participants"]) == (0, 0)


async def test_attendance_durations(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    a = (await join(client, platform, s["id"], "a")).json()
    b = (await join(client, platform, s["id"], "b")).json()
    # a: two tabs overlapping 30..10 and 20..0 minutes ago => 30 minutes, not 40
    await _connect(app, s["id"], a["participant_id"], "n1-a1", minutes_ago=30)
    await _disconnect(app, "n1-a1", minutes_ago=10)
    await _connect(app, s["id"], a["participant_id"], "n1-a2", minutes_ago=20)
    await _disconnect(app, "n1-a2", minutes_ago=0)
    # b: 5 minutes ago and still connected
    await _connect(app, s["id"], b["participant_id"], "n1-b1", minutes_ago=5)
    body = (await client.get(f"{API}/{s['id']}/stats", headers=host(platform))).json()
    by_user = {x["user_id"]: x for x in body["attendance"]}
    assert abs(by_user["a"]["total_seconds"] - 1800) < 5
    assert abs(by_user["b"]["total_seconds"] - 300) < 5
    assert (by_user["a"]["connected"], by_user["b"]["connected"]) == (False, True)
    assert body["connected_participants"] == 1
    listed = await client.get(f"{API}/{s['id']}/participants", headers=host(platform))
    seconds = {p["user_id"]: p["total_seconds"] for p in listed.json()["items"]}
    assert abs(seconds["a"] - 1800) < 5
    await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    ended = (await client.get(f"{API}/{s['id']}/stats", headers=host(platform))).json()
    after = {x["user_id"]: x for x in ended["attendance"]}
    assert after["b"]["connected"] is False  # ending closed the interval


async def test_stats_are_for_the_host(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    await join(client, platform, s["id"], "a")
    r = await client.get(f"{API}/{s['id']}/stats", headers=platform.auth("a", "student"))
    assert r.status_code == 403
    assert r.json()["code"] == "NOT_HOST"
    admin = await client.get(f"{API}/{s['id']}/stats", headers=platform.auth("root", "admin"))
    assert admin.status_code == 200
