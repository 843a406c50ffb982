"""Small builders the API tests share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from liveclass.db import seats
from liveclass.db.seats import ParticipantRecord
from liveclass.db.types import utcnow
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Role
from tests.conftest import Platform


def future(minutes: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def session_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Algebra 101", "scheduled_at": future(), "duration": 60}
    body.update(overrides)
    return body


async def create_session(
    client: httpx.AsyncClient, platform: Platform, owner: str = "teacher-1", **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/sessions", json=session_body(**overrides), headers=platform.auth(owner, "teacher")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def live_session(
    client: httpx.AsyncClient, platform: Platform, owner: str = "teacher-1", **overrides: Any
) -> dict[str, Any]:
    session = await create_session(client, platform, owner, **overrides)
    started = await client.post(
        f"/api/v1/sessions/{session['id']}/start", headers=platform.auth(owner, "teacher")
    )
    assert started.status_code == 200, started.text
    body: dict[str, Any] = started.json()
    return body


async def join(
    client: httpx.AsyncClient, platform: Platform, session_id: str, user: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/sessions/{session_id}/join",
        json=body or None,
        headers=platform.auth(user, "student"),
    )


def newcomer(session_id: uuid.UUID, user_id: str, role: str = "viewer") -> ParticipantRecord:
    """A new joined participant's record, as a first join builds it."""
    return seats.new_seat(
        session_id=session_id,
        user_id=user_id,
        name=user_id.title(),
        role=Role(role),
        status=ParticipantStatus.JOINED,
        at=utcnow(),
    )
