"""The contract every hosted provider keeps with liveclass, run against each provider's
local server (``hosted_harness.HARNESSES``), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from liveclass.app import create_app
from liveclass.control.hosted_attendance import read_due
from liveclass.control.hosted_downloads import download_pending
from liveclass.db import attendance
from liveclass.db.tables import HOSTED_MEETINGS, SESSIONS
from liveclass.db.types import utcnow
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, Platform, make_settings
from tests.providers.hosted_harness import (
    HARNESSES,
    HAS_NO_MEETING_API,
    AttendanceOnRecord,
    Harness,
    RecordingsOnRecord,
    deliver,
)

TEACHER = ("teacher-1", "teacher")


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with HARNESSES[request.param]() as h:
        yield h


@pytest.fixture
async def hosted(
    database_url: str, harness: Harness, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = make_settings(
        database_url, recordings_dir=str(tmp_path / "rec"), **harness.settings()
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client, app.state.services


def _needs_meeting_api(harness: Harness) -> None:
    if not harness.has_meeting_api:
        pytest.skip(f"{harness.provider}: {HAS_NO_MEETING_API}")


def _needs(harness: Harness, step: str) -> None:
    if step in harness.lacks:
        pytest.skip(f"{harness.provider}: {harness.lacks[step]}")


async def _create(
    client: httpx.AsyncClient, platform: Platform, provider: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/sessions",
        json=session_body(provider=provider, **extra),
        headers=platform.auth(*TEACHER),
    )


async def _count(services: Any, table: Any) -> int:
    async with services.db.reader() as r:
        return int(await r.value(select(func.count()).select_from(table)))


async def test_a_class_gets_its_meeting_and_its_link(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, _ = hosted
    r = await _create(client, platform, harness.provider)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["room_url"] and body["meeting_url"] == body["room_url"]
    assert not body["meeting_url"].startswith(BASE_URL)
    got = await client.get(f"/api/v1/sessions/{body['id']}", headers=platform.auth(*TEACHER))
    assert got.json()["meeting_url"] == body["meeting_url"]
    listed = await client.get("/api/v1/sessions", headers=platform.auth(*TEACHER))
    assert listed.json()["items"][0]["room_url"] == body["room_url"]


@pytest.mark.parametrize(("status", "answer"), [(503, 503), (400, 502)])
async def test_a_provider_that_fails_leaves_no_class(
    hosted: tuple[httpx.AsyncClient, Any],
    harness: Harness,
    platform: Platform,
    status: int,
    answer: int,
) -> None:
    _needs_meeting_api(harness)
    client, services = hosted
    harness.fail_next(1, status)
    r = await _create(client, platform, harness.provider)
    assert r.status_code == answer, r.text
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"
    assert "injected" in r.json()["detail"]
    assert await _count(services, SESSIONS) == 0
    assert await _count(services, HOSTED_MEETINGS) == 0


async def test_a_meeting_whose_class_was_not_saved_is_deleted_again(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, services = hosted
    first = await _create(client, platform, harness.provider, booking_id="b-1")
    assert first.status_code == 201
    # same booking by another host: refused when saving, after the meeting was made? no:
    # the booking is checked first, so the provider is not even called
    calls = len(harness.calls())
    other = await client.post(
        "/api/v1/sessions",
        json=session_body(provider=harness.provider, booking_id="b-1"),
        headers=platform.auth("teacher-2", "teacher"),
    )
    assert other.status_code == 409
    assert len(harness.calls()) == calls
    assert await _count(services, SESSIONS) == 1


async def test_a_429_with_retry_after_is_waited_out(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    _needs_meeting_api(harness)
    client, _ = hosted
    harness.fail_next(1, 429, retry_after="0")
    r = await _create(client, platform, harness.provider)
    assert r.status_code == 201, r.text


async def test_reschedule_updates_and_cancel_deletes_the_meeting(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    _needs_meeting_api(harness)
    client, _ = hosted
    sid = (await _create(client, platform, harness.provider)).json()["id"]
    before = len(harness.calls())
    r = await client.patch(
        f"/api/v1/sessions/{sid}", json={"duration": 90}, headers=platform.auth(*TEACHER)
    )
    assert r.status_code == 200, r.text
    assert len(harness.calls()) > before
    _needs(harness, "delete")
    harness.fail_next(1, 503)
    down = await client.delete(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert down.status_code == 503
    assert (await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))).json()[
        "status"
    ] == "scheduled"
    gone = await client.delete(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    assert harness.calls()[-1][0] == "DELETE"


async def test_without_a_meeting_api_reschedule_and_cancel_call_nothing(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    if harness.has_meeting_api:
        pytest.skip(f"{harness.provider} has a meeting API: shown by the tests above")
    client, _ = hosted
    created = (await _create(client, platform, harness.provider)).json()
    sid = created["id"]
    r = await client.patch(
        f"/api/v1/sessions/{sid}", json={"duration": 90}, headers=platform.auth(*TEACHER)
    )
    assert r.status_code == 200, r.text
    # the room keeps its name, so links already handed out still work
    assert r.json()["meeting_url"] == created["meeting_url"]
    gone = await client.delete(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    assert harness.calls() == []


async def test_each_person_gets_their_own_link(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, _ = hosted
    sid = (await _create(client, platform, harness.provider)).json()["id"]
    host = await client.post(f"/api/v1/sessions/{sid}/join", headers=platform.auth(*TEACHER))
    assert host.status_code == 200, host.text
    started = await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    assert started.status_code == 200, started.text
    student = await client.post(
        f"/api/v1/sessions/{sid}/join", headers=platform.auth("student-1", "student")
    )
    assert student.status_code == 200, student.text
    host_link, student_link = host.json()["media"]["join_url"], student.json()["media"]["join_url"]
    _needs(harness, "own_link")
    assert host_link != student_link
    assert host.json()["classroom_url"] == host_link
    assert student.json()["classroom_url"] == student_link


async def test_webhooks_bad_stale_duplicate_and_out_of_order(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, _ = hosted
    created = (await _create(client, platform, harness.provider)).json()
    sid, meeting_id = created["id"], harness.meeting_id(created)
    await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    # the attendee's own link first: a provider may know them only by it (Zoom's registrant)
    await client.post(f"/api/v1/sessions/{sid}/join", headers=platform.auth("student-1", "student"))
    bad = await deliver(client, harness.provider, harness.tampered(meeting_id))
    assert bad.status_code == 401 and bad.json()["code"] == "INVALID_WEBHOOK_SIGNATURE"
    stale = await deliver(client, harness.provider, harness.stale(meeting_id))
    assert stale.status_code == 401
    _needs(harness, "pushed_attendance")
    now = time.time()
    left = harness.participant("left", meeting_id, "student-1", "c-1", now - 30)
    joined = harness.participant("joined", meeting_id, "student-1", "c-1", now - 90)
    assert (await deliver(client, harness.provider, left)).json()["outcome"] == "applied"
    assert (await deliver(client, harness.provider, joined)).json()["outcome"] == "applied"
    again = await deliver(client, harness.provider, joined)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    stats = await client.get(f"/api/v1/sessions/{sid}/stats", headers=platform.auth(*TEACHER))
    (row,) = [a for a in stats.json()["attendance"] if a["user_id"] == "student-1"]
    assert row["total_seconds"] == 60.0
    assert stats.json()["connected_participants"] == 0


async def test_someone_in_the_providers_meeting_holds_no_classroom_socket(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    """A span the provider reported is attendance, not a socket some node holds: the
    classroom's roster, loaded from the open connections, leaves it out."""
    client, services = hosted
    created = (await _create(client, platform, harness.provider)).json()
    sid, meeting_id = created["id"], harness.meeting_id(created)
    await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    joined = await client.post(
        f"/api/v1/sessions/{sid}/join", headers=platform.auth("student-1", "student")
    )
    _needs(harness, "pushed_attendance")
    event = harness.participant("joined", meeting_id, "student-1", "c-1", time.time() - 5)
    assert (await deliver(client, harness.provider, event)).json()["outcome"] == "applied"
    async with services.db.reader() as r:
        session_id = uuid.UUID(sid)
        connected = await attendance.connected_participants(r, session_id=session_id)
        sockets = await attendance.open_connections(r, session_id=session_id)
    assert connected == {uuid.UUID(joined.json()["participant_id"])}
    assert sockets == {}


async def test_the_meeting_ending_ends_the_class_even_before_its_start(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, _ = hosted
    created = (await _create(client, platform, harness.provider)).json()
    sid, meeting_id = created["id"], harness.meeting_id(created)
    now = time.time()
    ended = await deliver(client, harness.provider, harness.meeting("ended", meeting_id, now))
    assert ended.status_code == 200
    started = await deliver(
        client, harness.provider, harness.meeting("started", meeting_id, now - 60)
    )
    assert started.json()["outcome"] == "ignored"
    got = await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert got.json()["status"] == "ended"
    assert got.json()["end_reason"] == "ended_on_provider"


async def _seconds_of(client: httpx.AsyncClient, platform: Platform, sid: str) -> float:
    stats = await client.get(f"/api/v1/sessions/{sid}/stats", headers=platform.auth(*TEACHER))
    (row,) = [a for a in stats.json()["attendance"] if a["user_id"] == "student-1"]
    return float(row["total_seconds"])


def _needs_records(harness: Harness) -> AttendanceOnRecord:
    if not isinstance(harness, AttendanceOnRecord):
        pytest.skip(f"{harness.provider} only pushes attendance: there is no record to read")
    return harness


async def _recorded_class(
    client: httpx.AsyncClient, harness: Harness, platform: Platform
) -> tuple[str, AttendanceOnRecord]:
    keeper = _needs_records(harness)
    created = (await _create(client, platform, harness.provider)).json()
    sid, meeting_id = created["id"], harness.meeting_id(created)
    started = await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    begun = datetime.fromisoformat(started.json()["started_at"]).timestamp()
    student = platform.auth("student-1", "student", name="Ada Lovelace")
    assert (await client.post(f"/api/v1/sessions/{sid}/join", headers=student)).status_code == 200
    # the provider shows the name as typed; someone liveclass never gave a link is there too
    keeper.record_attendance(meeting_id, "ada  LOVELACE", begun + 0.2, begun + 1.2)
    keeper.record_attendance(meeting_id, "Somebody Else", begun + 0.1, begun + 1.0)
    await asyncio.sleep(max(0.0, begun + 1.5 - time.time()))
    return sid, keeper


async def test_attendance_on_the_providers_record_counts_once_the_class_ended(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, services = hosted
    sid, _ = await _recorded_class(client, harness, platform)
    ended = await client.post(f"/api/v1/sessions/{sid}/end", headers=platform.auth(*TEACHER))
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert await _seconds_of(client, platform, sid) == pytest.approx(1.0, abs=0.01)
    # a later read (the records filling in) applies nothing twice
    await _make_due(services)
    assert await read_due(services) == 1
    assert await _seconds_of(client, platform, sid) == pytest.approx(1.0, abs=0.01)


async def test_records_of_a_provider_down_at_the_end_are_read_by_the_later_pass(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    client, services = hosted
    sid, _ = await _recorded_class(client, harness, platform)
    harness.fail_next(2, 503)  # the meeting's end, and the read after it
    ended = await client.post(f"/api/v1/sessions/{sid}/end", headers=platform.auth(*TEACHER))
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert await _seconds_of(client, platform, sid) == 0.0
    assert await read_due(services) == 0  # retried a minute later, not at once
    await _make_due(services)
    assert await read_due(services) == 1
    assert await _seconds_of(client, platform, sid) == pytest.approx(1.0, abs=0.01)


async def _make_due(services: Any) -> None:
    async with services.db.transaction() as tx:
        await tx.run(update(HOSTED_MEETINGS).values(attendance_due_at=utcnow()))


@pytest.mark.parametrize(
    ("provider", "setting"),
    [
        ("daily", "DAILY_API_KEY"),
        ("zoom", "ZOOM_ACCOUNT_ID"),
        ("jitsi", "JITSI_DOMAIN"),
        ("meet", "GOOGLE_REFRESH_TOKEN"),
        ("agora", "AGORA_APP_ID"),
        ("teams", "TEAMS_CLIENT_ID"),
    ],
)
async def test_a_provider_without_its_settings_is_refused(
    database_url: str, platform: Platform, provider: str, setting: str
) -> None:
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            r = await _create(client, platform, provider)
    assert r.status_code == 422
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"
    assert setting in r.json()["detail"]


async def test_a_recording_on_the_providers_record_is_kept_once(
    hosted: tuple[httpx.AsyncClient, Any], harness: Harness, platform: Platform
) -> None:
    """A file the provider lists on its record (and whose push named only the recording) is
    found by the read after the class, downloaded into liveclass's storage, and counted
    once: the push of the same file, and a later read, change nothing."""
    if not isinstance(harness, RecordingsOnRecord):
        pytest.skip(f"{harness.provider} lists no recordings on a record to read")
    client, services = hosted
    created = (await _create(client, platform, harness.provider, is_recorded=True)).json()
    sid, meeting_id = created["id"], harness.meeting_id(created)
    await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    content = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64
    recording = harness.record_file(meeting_id, content, time.time())
    transcript = harness.record_transcript(meeting_id, time.time())
    push = harness.push_file(meeting_id, recording, time.time())
    named = await deliver(client, harness.provider, push)
    assert named.status_code == 200 and named.json()["outcome"] == "ignored"  # only a name
    ended = await client.post(f"/api/v1/sessions/{sid}/end", headers=platform.auth(*TEACHER))
    assert ended.status_code == 200
    assert await download_pending(services) == 1
    listed = await client.get(
        "/api/v1/recordings", params={"session_id": sid}, headers=platform.auth(*TEACHER)
    )
    (kept,) = [r for r in listed.json()["items"] if r["state"] == "ready"]
    assert kept["size_bytes"] == len(content) and kept["backend"] == harness.provider
    got = await client.get(
        f"/api/v1/recordings/{kept['id']}/download", headers=platform.auth(*TEACHER)
    )
    assert got.status_code == 200 and got.content == content
    await _make_due(services)
    assert await read_due(services) == 1
    assert await download_pending(services) == 0
    again = await client.get(
        "/api/v1/recordings", params={"session_id": sid}, headers=platform.auth(*TEACHER)
    )
    assert [r["id"] for r in again.json()["items"] if r["state"] == "ready"] == [kept["id"]]
    assert again.json()["total"] == listed.json()["total"]
    # the transcript stays where the provider keeps it: its link, on the session
    got = await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert got.json()["transcript_url"] == transcript
    assert got.json()["recording_url"].endswith(f"/recordings/{kept['id']}/download")
