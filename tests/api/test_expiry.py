"""A live session past its slot with nobody connected ends by itself (end_reason: expired)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from liveclass.control.sessions import expire_overdue
from liveclass.db import attendance
from liveclass.db.tables import SESSIONS
from liveclass.db.types import utcnow
from liveclass.services import Services
from tests.api.helpers import join, live_session
from tests.conftest import Platform


async def _move_slot_into_past(services: Services, session_id: str) -> None:
    async with services.db.transaction() as tx:
        await tx.run(
            update(SESSIONS)
            .where(SESSIONS.c.id == uuid.UUID(session_id))
            .values(
                scheduled_at=utcnow() - timedelta(hours=3),
                duration_minutes=60,
                updated_at=utcnow(),
            )
        )


async def test_overdue_empty_session_expires(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    overdue = await live_session(client, platform)
    current = await live_session(client, platform)
    await _move_slot_into_past(services, overdue["id"])
    assert await expire_overdue(services) == [uuid.UUID(overdue["id"])]
    auth = platform.auth("teacher-1", "teacher")
    ended = (await client.get(f"/api/v1/sessions/{overdue['id']}", headers=auth)).json()
    assert (ended["status"], ended["end_reason"]) == ("ended", "expired")
    still = (await client.get(f"/api/v1/sessions/{current['id']}", headers=auth)).json()
    assert still["status"] == "live"


async def test_overdue_session_with_someone_connected_goes_on(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    session = await live_session(client, platform)
    joined = (await join(client, platform, session["id"], "student-1")).json()
    async with services.db.transaction() as tx:
        await attendance.open_interval(
            tx,
            session_id=uuid.UUID(session["id"]),
            participant_id=uuid.UUID(joined["participant_id"]),
            connection_id="test-connection",
        )
    await _move_slot_into_past(services, session["id"])
    assert await expire_overdue(services) == []
