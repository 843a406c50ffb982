"""An Agora class recorded through Cloud Recording into liveclass's S3 bucket (moto's S3
server on loopback): start and stop call Agora, the "uploaded" notification names the MP4
Agora wrote into the bucket, and it becomes a ready liveclass recording."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from liveclass.control import hosted_downloads
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, Platform, make_settings
from tests.providers.hosted_harness import AgoraHarness, deliver
from tests.support.fake_agora import FakeAgora, serve_fake_agora

TEACHER = ("teacher-1", "teacher")
BUCKET = "agora-recordings"  # moto keeps one state per process: a bucket of its own
CONTENT = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str) -> Any:
    import boto3

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def fake() -> Iterator[FakeAgora]:
    with serve_fake_agora() as running:
        yield running


@pytest.fixture
async def app(
    database_url: str, fake: FakeAgora, s3_endpoint: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    client = _s3(s3_endpoint)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    finally:
        client.close()
    settings = make_settings(
        database_url,
        recordings_dir=str(tmp_path / "rec"),
        recording_storage="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key="test",
        s3_secret_key="test",
        s3_prefix="lc",
        **AgoraHarness(fake).settings(),
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            yield http, application.state.services


async def _recording(client: httpx.AsyncClient, platform: Platform, sid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/recordings?session_id={sid}", headers=platform.auth(*TEACHER))
    items: list[dict[str, Any]] = r.json()["items"]
    return items[0]


async def test_a_cloud_recording_in_the_bucket_becomes_a_liveclass_recording(
    app: tuple[httpx.AsyncClient, Any], fake: FakeAgora, s3_endpoint: str, platform: Platform
) -> None:
    client, services = app
    auth = platform.auth(*TEACHER)
    body = session_body(provider="agora", is_recorded=True)
    sid = (await client.post("/api/v1/sessions", json=body, headers=auth)).json()["id"]
    assert (await client.post(f"/api/v1/sessions/{sid}/start", headers=auth)).status_code == 200
    rec = await client.post(f"/api/v1/sessions/{sid}/recording/start", headers=auth)
    assert rec.status_code == 200 and rec.json()["state"] == "recording", rec.text
    stop = await client.post(f"/api/v1/sessions/{sid}/recording/stop", headers=auth)
    assert stop.status_code == 200, stop.text
    (agora_sid,) = list(fake.sessions)
    storage = fake.sessions[agora_sid]["clientRequest"]["storageConfig"]
    assert (storage["bucket"], storage["accessKey"]) == (BUCKET, "test")
    # what Agora would have written into the bucket
    mp4 = next(
        f["fileName"] for f in fake.uploaded_files(agora_sid) if f["fileName"][-4:] == ".mp4"
    )
    s3 = _s3(s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key=mp4, Body=CONTENT)
    uploaded = await deliver(client, "agora", fake.sign(fake.uploaded_notice(agora_sid)))
    assert uploaded.json()["outcome"] == "queued", uploaded.text
    async with asyncio.timeout(30):  # a bound, not a timing assertion
        while (await _recording(client, platform, sid))["state"] != "ready":
            await hosted_downloads.download_pending(services)
            await asyncio.sleep(0.05)
    recording = await _recording(client, platform, sid)
    assert recording["size_bytes"] == len(CONTENT)
    served = await client.get(f"/api/v1/recordings/{recording['id']}/download", headers=auth)
    s3.close()
    assert served.status_code == 200 and served.content == CONTENT
