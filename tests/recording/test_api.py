"""The recordings API against a migrated database, with a real WebM in local storage."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from liveclass.config import Settings
from liveclass.domain.actors import Actor
from liveclass.recording import service
from liveclass.recording.janus_post import PostResult, StoredFile
from liveclass.recording.storage import LocalStorage
from liveclass.services import Services
from tests.api.helpers import create_session, live_session
from tests.conftest import Platform, make_settings
from tests.recording.conftest import require_tool

pytestmark = pytest.mark.recording

HOST = "teacher-1"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, recordings_dir=str(tmp_path / "recordings"))


@pytest.fixture(scope="module")
def webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "class.webm"
    subprocess.run(
        [
            require_tool("ffmpeg"),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "2",
            "-c:v",
            "libvpx",
            "-c:a",
            "libopus",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def _ready_recording(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, webm: Path, **session: Any
) -> dict[str, Any]:
    # The row is driven by the recording use cases with a known file standing in for the
    # capture, so these tests read exact bytes; real captures are in test_capture_e2e.
    live = await live_session(client, platform, HOST, **session)
    services = _services(app)
    host = Actor(user_id=HOST, name=HOST)
    started = await service.start_recording(services.recorder, host, uuid.UUID(live["id"]))
    assert started.state == "starting"
    rec_id = started.id
    await service.mark_recording(services.recorder, rec_id)
    stopped = await service.stop_recording(services.recorder, host, uuid.UUID(live["id"]))
    assert stopped.state == "processing"
    storage = services.recorder.storage
    key = f"{rec_id}/class.webm"
    size = await storage.put_file(key, webm, content_type="video/webm")
    await service.finish(
        services.recorder, rec_id, PostResult(main=StoredFile(key, size)), duration_ms=2000
    )
    got = await client.get(f"/api/v1/recordings/{rec_id}", headers=platform.auth(HOST, "teacher"))
    body: dict[str, Any] = got.json()
    return body


async def test_start_stop_ready_and_download_ranges(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, webm: Path
) -> None:
    rec = await _ready_recording(app, client, platform, webm)
    assert rec["state"] == "ready"
    data = await asyncio.to_thread(webm.read_bytes)
    assert rec["size_bytes"] == len(data)
    assert rec["duration_seconds"] == 2.0
    auth = platform.auth(HOST, "teacher")
    url = rec["download_url"]

    whole = await client.get(url, headers=auth)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"

    part = await client.get(url, headers={**auth, "Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.content == data[100:1100]

    tail = await client.get(url, headers={**auth, "Range": "bytes=-500"})
    assert tail.status_code == 206
    assert tail.content == data[-500:]

    bad = await client.get(url, headers={**auth, "Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(data)}"


async def test_only_the_host_controls_recording(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    live = await live_session(client, platform, HOST)
    denied = await client.post(
        f"/api/v1/sessions/{live['id']}/recording/start",
        headers=platform.auth("student-1", "student"),
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "NOT_HOST"


async def test_recording_needs_a_live_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    scheduled = await create_session(client, platform, HOST)
    for action in ("start", "stop"):
        reply = await client.post(
            f"/api/v1/sessions/{scheduled['id']}/recording/{action}",
            headers=platform.auth(HOST, "teacher"),
        )
        assert reply.status_code == 409
        assert reply.json()["code"] == "INVALID_STATE"


async def test_private_recordings_are_hidden_from_outsiders(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, webm: Path
) -> None:
    rec = await _ready_recording(app, client, platform, webm, is_public=False, course_id="course-9")
    outsider = platform.auth("stranger", "student")
    assert (await client.get(rec["download_url"], headers=outsider)).status_code == 404
    listed = await client.get("/api/v1/recordings", headers=outsider)
    assert listed.json()["total"] == 0
    mine = await client.get(
        "/api/v1/recordings",
        params={"course_id": "course-9"},
        headers=platform.auth(HOST, "teacher"),
    )
    body = mine.json()
    assert [r["id"] for r in body["items"]] == [rec["id"]]
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (1, 1, 20, 1)


async def test_delete_removes_the_file(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, webm: Path
) -> None:
    rec = await _ready_recording(app, client, platform, webm)
    storage = _services(app).recorder.storage
    assert isinstance(storage, LocalStorage)
    key = f"{rec['id']}/class.webm"
    assert await storage.exists(key)
    url = f"/api/v1/recordings/{rec['id']}"
    student = await client.delete(url, headers=platform.auth("student-1", "student"))
    assert student.status_code in (403, 404)
    assert (await client.delete(url, headers=platform.auth(HOST, "teacher"))).status_code == 204
    assert not await storage.exists(key)
    assert (await client.get(url, headers=platform.auth(HOST, "teacher"))).status_code == 404


async def test_retention_deletes_files_and_rows(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, webm: Path
) -> None:
    rec = await _ready_recording(app, client, platform, webm)
    services = _services(app)
    assert await service.purge_expired(services.recorder) == 0  # too young
    from datetime import timedelta

    from sqlalchemy import update

    from liveclass.db import recordings
    from liveclass.db.tables import RECORDINGS

    rec_id = uuid.UUID(rec["id"])
    async with services.db.transaction() as tx:
        found = await recordings.get(tx, recording_id=rec_id)
        assert found is not None
        older = found.started_at - timedelta(days=91)
        table = RECORDINGS
        await tx.run(update(table).where(table.c.id == rec_id).values(started_at=older))
    assert await service.purge_expired(services.recorder) == 1
    assert not await services.recorder.storage.exists(f"{rec['id']}/class.webm")
    auth = platform.auth(HOST, "teacher")
    got = await client.get(f"/api/v1/recordings/{rec['id']}", headers=auth)
    assert got.status_code == 404
