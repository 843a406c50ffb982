"""Seed 003 end to end: a Daily class with its recording kept in Cloudinary (both the
local test servers): create, join as teacher and student (each their own token), record,
the ready webhook, the file in Cloudinary, ``recording_url``, exact attendance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from liveclass.app import create_app
from liveclass.control import hosted_downloads
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, Platform, make_settings
from tests.support.fake_cloudinary import FakeCloudinary, serve_fake_cloudinary
from tests.support.fake_daily import FakeDaily, serve_fake_daily

TEACHER = ("teacher-1", "teacher")
HOOK = "/api/v1/providers/daily/webhook"


@pytest.fixture
def servers() -> Iterator[tuple[FakeDaily, FakeCloudinary, str, str]]:
    with serve_fake_daily() as (daily, d_server), serve_fake_cloudinary() as (cloud, c_server):
        yield daily, cloud, d_server.url, c_server.url


@pytest.fixture
async def seed(
    database_url: str, servers: tuple[FakeDaily, FakeCloudinary, str, str], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    daily, cloud, daily_url, cloud_url = servers
    settings = make_settings(
        database_url,
        daily_api_key=daily.api_key,
        daily_api_url=daily_url + "/v1",
        daily_webhook_secret=daily.webhook_secret,
        recording_storage="cloudinary",
        cloud_name=cloud.cloud_name,
        cloud_api_key=cloud.api_key,
        cloud_api_secret=cloud.api_secret,
        cloudinary_api_url=cloud_url + "/v1_1",
        recordings_dir=str(tmp_path / "rec"),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client, app.state.services


async def _deliver(
    client: httpx.AsyncClient, daily: FakeDaily, kind: str, payload: dict[str, Any]
) -> httpx.Response:
    signed = daily.sign_webhook(daily.event(kind, payload))
    return await client.post(HOOK, content=signed.body, headers=signed.headers)


async def _recording(client: httpx.AsyncClient, platform: Platform, sid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/recordings?session_id={sid}", headers=platform.auth(*TEACHER))
    items: list[dict[str, Any]] = r.json()["items"]
    return items[0]


async def test_a_daily_class_recorded_into_cloudinary(
    seed: tuple[httpx.AsyncClient, Any],
    servers: tuple[FakeDaily, FakeCloudinary, str, str],
    platform: Platform,
) -> None:
    client, services = seed
    daily, cloud, _, _ = servers
    ping = daily.verification_request()
    assert (await client.post(HOOK, content=ping.body, headers=ping.headers)).status_code == 200
    created = await client.post(
        "/api/v1/sessions",
        json=session_body(provider="daily", course_id="course-7", is_recorded=True),
        headers=platform.auth(*TEACHER),
    )
    assert created.status_code == 201, created.text
    sid, room_url = created.json()["id"], created.json()["room_url"]
    assert room_url == f"{daily.domain_url}/{sid}"
    assert daily.rooms[sid]["privacy"] == "private"
    assert daily.rooms[sid]["config"]["enable_recording"] == "cloud"
    started = await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    assert started.status_code == 200, started.text
    teacher = (
        await client.post(f"/api/v1/sessions/{sid}/join", headers=platform.auth(*TEACHER))
    ).json()
    student = (
        await client.post(
            f"/api/v1/sessions/{sid}/join", headers=platform.auth("student-1", "student")
        )
    ).json()
    claims = [
        jwt.decode(p["media"]["token"], daily.api_key, algorithms=["HS256"])
        for p in (teacher, student)
    ]
    assert [c["o"] for c in claims] == [True, False]
    assert [c["ud"] for c in claims] == ["teacher-1", "student-1"]
    assert all(c["r"] == sid for c in claims)

    now = time.time()
    for kind in ("joined", "left"):
        payload: dict[str, Any] = {
            "room": sid,
            "session_id": "p-1",
            "user_id": "student-1",
            "user_name": "S",
            "owner": False,
            "joined_at": now - 120,
        }
        if kind == "left":
            payload["duration"] = 100
        assert (await _deliver(client, daily, f"participant.{kind}", payload)).status_code == 200

    rec = await client.post(
        f"/api/v1/sessions/{sid}/recording/start", headers=platform.auth(*TEACHER)
    )
    assert rec.status_code == 200 and rec.json()["state"] == "recording", rec.text
    stop = await client.post(
        f"/api/v1/sessions/{sid}/recording/stop", headers=platform.auth(*TEACHER)
    )
    assert stop.json()["state"] == "processing"
    (daily_id,) = list(daily.recordings)
    cloud.fail_next = 1  # the first upload fails: the download is tried again, not lost
    ready = await _deliver(
        client,
        daily,
        "recording.ready-to-download",
        {
            "room_name": sid,
            "recording_id": daily_id,
            "start_ts": int(now),
            "duration": 30,
            "status": "finished",
        },
    )
    assert ready.json()["outcome"] == "queued"
    async with asyncio.timeout(30):  # a bound, not a timing assertion
        while not cloud.calls:  # the webhook's background attempt  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        while (await _recording(client, platform, sid))["state"] != "ready":
            await hosted_downloads.download_pending(services)
            await asyncio.sleep(0.05)
    (public_id,) = list(cloud.assets)
    assert public_id.startswith("live-sessions/course-7/")
    assert cloud.assets[public_id] == daily.recordings[daily_id].content
    recording = await _recording(client, platform, sid)
    assert recording["size_bytes"] == daily.recording_size
    got = (await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))).json()
    assert got["recording_url"].startswith(cloud.server_url)
    assert got["recording_url"].endswith(f"{public_id}.mp4")
    async with httpx.AsyncClient() as plain:
        served = await plain.get(got["recording_url"])
    assert served.content == daily.recordings[daily_id].content
    # liveclass does not stream what Cloudinary serves: a clear answer, not a 500
    download = await client.get(
        f"/api/v1/recordings/{recording['id']}/download", headers=platform.auth(*TEACHER)
    )
    assert download.status_code == 409, download.text
    assert download.json()["code"] == "RECORDING_SERVED_BY_STORAGE"
    stats = await client.get(f"/api/v1/sessions/{sid}/stats", headers=platform.auth(*TEACHER))
    (row,) = [a for a in stats.json()["attendance"] if a["user_id"] == "student-1"]
    assert row["total_seconds"] == 100.0
    # deleting the recording removes the asset
    gone = await client.delete(
        f"/api/v1/recordings/{recording['id']}", headers=platform.auth(*TEACHER)
    )
    assert gone.status_code in (200, 204), gone.text
    assert public_id not in cloud.assets


async def test_a_meeting_made_for_a_class_that_was_not_saved_is_deleted_again(
    seed: tuple[httpx.AsyncClient, Any],
    servers: tuple[FakeDaily, FakeCloudinary, str, str],
    platform: Platform,
) -> None:
    """Two creates of one booking race: both make a Daily room, one class is saved, and the
    room made for the other is deleted again (nothing half-made on the provider)."""
    client, _ = seed
    daily = servers[0]
    # the first create's room is held on Daily while the second makes and saves its own
    daily.stall_next, daily.stall_seconds = 1, 2.0
    body = session_body(provider="daily", booking_id="booking-42")

    async def create() -> httpx.Response:
        return await client.post("/api/v1/sessions", json=body, headers=platform.auth(*TEACHER))

    first, second = await asyncio.gather(create(), create())
    assert sorted((first.status_code, second.status_code)) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    made = [c for c in daily.calls if (c.method, c.path) == ("POST", "/rooms")]
    dropped = [c for c in daily.calls if c.method == "DELETE" and c.path.startswith("/rooms/")]
    assert (len(made), len(dropped)) == (2, 1)
    assert list(daily.rooms) == [first.json()["id"]]  # only the saved class's room is left
    listed = await client.get("/api/v1/sessions?page_size=100", headers=platform.auth(*TEACHER))
    assert [s["id"] for s in listed.json()["items"]] == [first.json()["id"]]
