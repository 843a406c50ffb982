"""Recording follows the session lifecycle: the session use cases tell their listeners when
a class starts and ends, and the recorder is one of them (no Chromium: the mesh recorder
process is started but never joins, which is what a stop before the capture began sees)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from liveclass.config import Settings
from liveclass.domain.lifecycle import EndReason, SessionEnded, SessionStarted
from liveclass.services import build_services
from tests.api.helpers import create_session, live_session
from tests.conftest import BASE_URL, Platform, make_settings

pytestmark = pytest.mark.recording

HOST = "teacher-1"


class HeardLifecycle:
    """A session listener that keeps what it was told."""

    def __init__(self) -> None:
        self.events: list[SessionStarted | SessionEnded] = []

    async def session_started(self, event: SessionStarted) -> None:
        self.events.append(event)

    async def session_ended(self, event: SessionEnded) -> None:
        self.events.append(event)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        recordings_dir=str(tmp_path / "recordings"),
        recording_work_dir=str(tmp_path / "work"),
    )


@pytest.fixture
async def heard(settings: Settings) -> AsyncIterator[tuple[HeardLifecycle, httpx.AsyncClient]]:
    listener = HeardLifecycle()
    services = dataclasses.replace(build_services(settings), session_listeners=(listener,))
    app = create_app(settings, services=services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield listener, client


async def test_listeners_hear_a_class_start_and_end(
    heard: tuple[HeardLifecycle, httpx.AsyncClient], platform: Platform
) -> None:
    listener, client = heard
    live = await live_session(client, platform, HOST, is_recorded=True)
    sid = uuid.UUID(live["id"])
    as_host = platform.auth(HOST, "teacher")
    again = await client.post(f"/api/v1/sessions/{sid}/start", headers=as_host)
    assert again.status_code == 200  # already live: nothing new started
    ended = await client.post(f"/api/v1/sessions/{sid}/end", headers=as_host)
    assert ended.status_code == 200
    assert listener.events == [
        SessionStarted(session_id=sid, is_recorded=True),
        SessionEnded(session_id=sid, reason=EndReason.ENDED_BY_HOST),
    ]


async def test_a_cancelled_class_tells_the_listeners_nothing(
    heard: tuple[HeardLifecycle, httpx.AsyncClient], platform: Platform
) -> None:
    listener, client = heard
    scheduled = await create_session(client, platform, HOST, is_recorded=True)
    cancelled = await client.post(
        f"/api/v1/sessions/{scheduled['id']}/cancel", headers=platform.auth(HOST, "teacher")
    )
    assert cancelled.status_code == 200, cancelled.text
    assert listener.events == []


async def _recordings_of(
    client: httpx.AsyncClient, platform: Platform, session_id: str
) -> list[dict[str, Any]]:
    listed = await client.get(
        "/api/v1/recordings",
        params={"session_id": session_id},
        headers=platform.auth(HOST, "teacher"),
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_a_recorded_class_records_from_its_start_and_stops_at_its_end(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    live = await live_session(client, platform, HOST, is_recorded=True)
    [started] = await _recordings_of(client, platform, live["id"])
    assert started["backend"] == "mesh"
    ended = await client.post(
        f"/api/v1/sessions/{live['id']}/end", headers=platform.auth(HOST, "teacher")
    )
    assert ended.status_code == 200
    [stopped] = await _recordings_of(client, platform, live["id"])
    assert stopped["id"] == started["id"]
    # the recorder never joined this room, so the stop finds nothing to process
    assert stopped["state"] == "failed"


async def test_an_unrecorded_class_opens_no_recording(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    live = await live_session(client, platform, HOST)
    assert await _recordings_of(client, platform, live["id"]) == []
