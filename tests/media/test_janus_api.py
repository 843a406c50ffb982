"""What the platform sees of Janus through liveclass's REST API when Janus is down."""

from __future__ import annotations

import pytest

from tests.conftest import Platform
from tests.media.browser import JanusClass, LiveclassServer
from tests.media.janus_server import JanusServer

pytestmark = pytest.mark.janus


async def test_starting_while_janus_is_down_is_a_503_and_a_retry_works(
    liveclass_on_own_janus: LiveclassServer, own_janus: JanusServer
) -> None:
    lesson = JanusClass(liveclass_on_own_janus, Platform())
    teacher = lesson.auth(lesson.teacher)
    body = {
        "title": "Outage",
        "scheduled_at": "2030-01-01T10:00:00Z",
        "duration": 60,
        "max_participants": 20,
    }
    created = await lesson.http.post("/api/v1/sessions", json=body, headers=teacher)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]

    own_janus.stop()
    down = await lesson.http.post(f"/api/v1/sessions/{sid}/start", headers=teacher)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert down.json()["code"] == "MEDIA_UNAVAILABLE"
    still = await lesson.http.get(f"/api/v1/sessions/{sid}", headers=teacher)
    assert still.json()["status"] == "scheduled"  # nothing half-done

    own_janus.restart()
    up = await lesson.http.post(f"/api/v1/sessions/{sid}/start", headers=teacher)
    assert up.status_code == 200, up.text
    assert up.json()["status"] == "live"
    await lesson.aclose()
