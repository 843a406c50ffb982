"""liveclass's Cloudinary upload client against Cloudinary's documented Upload API: signed,
chunked video uploads reassembled and checked by a local server, and destroy."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from liveclass.providers.cloudinary_api import (
    CLOUDINARY_API_URL,
    CloudinaryClient,
    CloudinaryCredentials,
    api_sign_request,
    signature_payload,
)
from liveclass.providers.errors import ProviderError, ProviderUnavailable
from tests.support.fake_cloudinary import FakeCloudinary, serve_fake_cloudinary
from tests.support.loopback_app import LoopbackApp

CHUNK = 1000


@pytest.fixture
def cloud() -> Iterator[tuple[FakeCloudinary, LoopbackApp]]:
    with serve_fake_cloudinary() as running:
        yield running


@pytest.fixture
def fake(cloud: tuple[FakeCloudinary, LoopbackApp]) -> FakeCloudinary:
    return cloud[0]


def credentials(fake: FakeCloudinary) -> CloudinaryCredentials:
    return CloudinaryCredentials(fake.cloud_name, fake.api_key, fake.api_secret)


@pytest.fixture
async def client(cloud: tuple[FakeCloudinary, LoopbackApp]) -> AsyncIterator[CloudinaryClient]:
    fake, server = cloud
    cc = CloudinaryClient(
        credentials(fake),
        api_url=server.url + "/v1_1",
        chunk_size=CHUNK,
        timeout=2.0,
        max_retry_wait=1.0,
    )
    yield cc
    await cc.aclose()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_default_base_url_is_cloudinarys() -> None:
    assert CLOUDINARY_API_URL == "https://api.cloudinary.com/v1_1"


# signatures


def test_the_documented_signature_example() -> None:
    # Cloudinary's "Generating authentication signatures" example: secret abcd, key 1234
    params = {
        "eager": "w_400,h_300,c_pad|w_260,h_200,c_crop",
        "public_id": "sample_image",
        "timestamp": "1315060510",
        "api_key": "1234",
        "file": "https://www.example.com/sample.jpg",
    }
    assert api_sign_request(params, "abcd") == "bfd09f95f331f558cbd1320e67aa8d488770583e"


def test_the_signed_string_follows_the_sdk_rules() -> None:
    params = {
        "tags": ["a", "b"],
        "folder": "",
        "context": "x=1&y=2",
        "resource_type": "video",
        "cloud_name": "c",
        "timestamp": 5,
    }
    assert signature_payload(params) == "context=x=1%26y=2&tags=a,b&timestamp=5"
    sha256 = api_sign_request({"timestamp": 5}, "s", algorithm="sha256")
    assert sha256 == hashlib.sha256(b"timestamp=5s").hexdigest()


# credentials


def test_credentials_from_cloudinary_url() -> None:
    found = CloudinaryCredentials.from_url("cloudinary://1234:s%2Fcret@MyCloud")
    assert found == CloudinaryCredentials("MyCloud", "1234", "s/cret")
    with pytest.raises(ValueError, match="cloudinary://"):
        CloudinaryCredentials.from_url("https://1234:secret@cloud")
    with pytest.raises(ValueError, match="api_key:api_secret"):
        CloudinaryCredentials.from_url("cloudinary://1234@cloud")


def test_credentials_from_the_seed_names_or_the_url() -> None:
    env = {"CLOUD_NAME": "demo", "CLOUD_API_KEY": "k", "CLOUD_API_SECRET": "s"}
    assert CloudinaryCredentials.from_env(env) == CloudinaryCredentials("demo", "k", "s")
    env["CLOUDINARY_URL"] = "cloudinary://k2:s2@other"
    assert CloudinaryCredentials.from_env(env) == CloudinaryCredentials("other", "k2", "s2")
    with pytest.raises(ValueError, match="CLOUD_API_SECRET"):
        CloudinaryCredentials.from_env({"CLOUD_NAME": "demo", "CLOUD_API_KEY": "k"})


# uploads


async def test_a_three_chunk_file_arrives_intact(
    client: CloudinaryClient, fake: FakeCloudinary, tmp_path: Path
) -> None:
    data = secrets.token_bytes(2 * CHUNK + 345)
    path = tmp_path / "recording.mp4"
    path.write_bytes(data)
    asset = await client.upload_file(path, course_id="course-7", public_id="session-9-recording")
    assert asset.public_id == "live-sessions/course-7/session-9-recording"
    assert asset.bytes == len(data)
    assert fake.assets[asset.public_id] == data
    uploads = [c for c in fake.calls if c.path.endswith("/video/upload")]
    assert [c.headers["content-range"] for c in uploads] == [
        f"bytes 0-999/{len(data)}",
        f"bytes 1000-1999/{len(data)}",
        f"bytes 2000-2344/{len(data)}",
    ]
    assert len({c.headers["x-unique-upload-id"] for c in uploads}) == 1
    assert [c.file_size for c in uploads] == [CHUNK, CHUNK, 345]
    assert uploads[0].params["folder"] == "live-sessions/course-7"
    async with httpx.AsyncClient() as http:
        downloaded = await http.get(asset.secure_url)
    assert downloaded.content == data


async def test_a_stream_of_odd_pieces_is_rechunked_with_the_total_at_the_end(
    client: CloudinaryClient, fake: FakeCloudinary
) -> None:
    data = secrets.token_bytes(3 * CHUNK)
    asset = await client.upload_video(pieces(data, 333), course_id="c", public_id="p")
    assert fake.assets[asset.public_id] == data
    ranges = [c.headers["content-range"] for c in fake.calls]
    assert ranges == ["bytes 0-999/-1", "bytes 1000-1999/-1", f"bytes 2000-2999/{len(data)}"]


async def test_a_wrong_secret_is_refused_with_cloudinarys_message(
    cloud: tuple[FakeCloudinary, LoopbackApp],
) -> None:
    fake, server = cloud
    wrong = CloudinaryCredentials(fake.cloud_name, fake.api_key, "not-the-secret")
    cc = CloudinaryClient(wrong, api_url=server.url + "/v1_1", chunk_size=CHUNK)
    with pytest.raises(ProviderError) as refused:
        await cc.upload_video(pieces(b"x" * 10, 10), course_id="c", public_id="p")
    await cc.aclose()
    assert refused.value.provider_status == 401
    assert refused.value.provider_message == "Invalid Signature"
    assert fake.assets == {}


async def test_a_stale_timestamp_is_refused(cloud: tuple[FakeCloudinary, LoopbackApp]) -> None:
    fake, server = cloud
    two_hours_ago = time.time() - 7200
    cc = CloudinaryClient(
        credentials(fake), api_url=server.url + "/v1_1", clock=lambda: two_hours_ago
    )
    with pytest.raises(ProviderError, match="Stale request"):
        await cc.upload_video(pieces(b"x" * 10, 10), course_id="c", public_id="p")
    await cc.aclose()


async def test_an_empty_recording_is_not_uploaded(
    client: CloudinaryClient, fake: FakeCloudinary
) -> None:
    with pytest.raises(ValueError, match="nothing to upload"):
        await client.upload_video(pieces(b"", 1), course_id="c", public_id="p")
    assert fake.calls == []


# destroy


async def test_destroy_removes_the_asset_then_finds_nothing(
    client: CloudinaryClient, fake: FakeCloudinary
) -> None:
    asset = await client.upload_video(pieces(b"v" * 50, 50), course_id="c", public_id="p")
    assert await client.destroy(asset.public_id) is True
    assert asset.public_id not in fake.assets
    assert await client.destroy(asset.public_id) is False
    assert fake.calls[-1].path == f"/v1_1/{fake.cloud_name}/video/destroy"
    async with httpx.AsyncClient() as http:
        assert (await http.get(asset.secure_url)).status_code == 404


# failures


async def test_a_cloudinary_that_is_down_is_provider_unavailable(
    cloud: tuple[FakeCloudinary, LoopbackApp], client: CloudinaryClient
) -> None:
    cloud[1].stop()
    with pytest.raises(ProviderUnavailable) as down:
        await client.destroy("anything")
    assert down.value.code == "PROVIDER_UNAVAILABLE"


async def test_a_5xx_mid_upload_is_provider_unavailable(
    client: CloudinaryClient, fake: FakeCloudinary
) -> None:
    fake.fail_next, fake.fail_status = 1, 500
    with pytest.raises(ProviderUnavailable, match="injected 500"):
        await client.upload_video(pieces(b"z" * 2500, 2500), course_id="c", public_id="p")
    assert fake.assets == {}


async def test_a_429_chunk_is_resent_after_retry_after(
    client: CloudinaryClient, fake: FakeCloudinary
) -> None:
    data = secrets.token_bytes(2 * CHUNK)
    fake.fail_next, fake.fail_status, fake.retry_after = 1, 429, "0"
    asset = await client.upload_video(pieces(data, CHUNK), course_id="c", public_id="p")
    assert fake.assets[asset.public_id] == data
    assert [c.headers["content-range"] for c in fake.calls][:2] == ["bytes 0-999/-1"] * 2


async def test_a_stalled_cloudinary_times_out(cloud: tuple[FakeCloudinary, LoopbackApp]) -> None:
    fake, server = cloud
    fake.stall_next, fake.stall_seconds = 1, 3.0
    cc = CloudinaryClient(credentials(fake), api_url=server.url + "/v1_1", timeout=0.3)
    with pytest.raises(ProviderUnavailable, match="Timeout"):
        await cc.destroy("anything")
    await cc.aclose()
