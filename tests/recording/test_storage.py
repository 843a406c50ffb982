"""One contract for every RecordingStorage: a local directory and an S3 bucket served by a
real S3-compatible server (moto's server mode) on loopback."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from liveclass.recording.errors import ObjectMissing, StorageError
from liveclass.recording.storage import LocalStorage, RecordingStorage, S3Storage

pytestmark = pytest.mark.recording


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str, bucket: str) -> S3Storage:
    import boto3

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=bucket)
    finally:
        # an unclosed client's socket warns when collected, in whichever test runs then
        client.close()
    return S3Storage(
        bucket,
        prefix="rec",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key="test",
        secret_key="test",
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordingStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "store")
        return
    endpoint: str = request.getfixturevalue("s3_endpoint")
    store = _s3(endpoint, f"b-{request.node.name.split('[')[0].replace('_', '-')[:40]}")
    yield store
    store.close()


PAYLOAD = bytes(range(256)) * 2000  # 512000 bytes, more than one chunk


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "payload.bin"
    path.write_bytes(PAYLOAD)
    return path


async def _read(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def test_put_then_size_and_exists(storage: RecordingStorage, payload: Path) -> None:
    assert not await storage.exists("r1/class.webm")
    size = await storage.put_file("r1/class.webm", payload, content_type="video/webm")
    assert size == len(PAYLOAD)
    assert await storage.size("r1/class.webm") == size
    assert await storage.exists("r1/class.webm")


async def test_whole_and_ranged_reads(storage: RecordingStorage, payload: Path) -> None:
    data = PAYLOAD
    await storage.put_file("r2/class.webm", payload, content_type="video/webm")
    assert await _read(storage.open_range("r2/class.webm")) == data
    assert await _read(storage.open_range("r2/class.webm", 0, 0)) == data[:1]
    assert await _read(storage.open_range("r2/class.webm", 1000, 300_999)) == data[1000:301_000]
    assert await _read(storage.open_range("r2/class.webm", 511_990)) == data[511_990:]


async def test_put_replaces(storage: RecordingStorage, payload: Path, tmp_path: Path) -> None:
    await storage.put_file("r3/a.webm", payload, content_type="video/webm")
    small = tmp_path / "small.bin"
    small.write_bytes(b"tiny")
    assert await storage.put_file("r3/a.webm", small, content_type="video/webm") == 4
    assert await _read(storage.open_range("r3/a.webm")) == b"tiny"


async def test_delete_is_idempotent(storage: RecordingStorage, payload: Path) -> None:
    await storage.put_file("r4/a.webm", payload, content_type="video/webm")
    await storage.delete("r4/a.webm")
    await storage.delete("r4/a.webm")
    assert not await storage.exists("r4/a.webm")


async def test_missing_object(storage: RecordingStorage) -> None:
    with pytest.raises(ObjectMissing):
        await storage.size("nope/a.webm")
    with pytest.raises(ObjectMissing):
        await _read(storage.open_range("nope/a.webm"))


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../escape.webm", "a/../../b"])
async def test_rejects_keys_outside_the_store(
    storage: RecordingStorage, payload: Path, key: str
) -> None:
    with pytest.raises(StorageError):
        await storage.put_file(key, payload, content_type="video/webm")


async def test_unwritable_local_directory(tmp_path: Path, payload: Path) -> None:
    root = tmp_path / "readonly"
    root.mkdir()
    root.chmod(0o500)
    try:
        if os.access(root, os.W_OK):  # root ignores permission bits; use a file as a parent
            root.chmod(0o700)
            (root / "blocker").write_bytes(b"")
            store = LocalStorage(root / "blocker")
        else:
            store = LocalStorage(root)
        with pytest.raises(StorageError, match="cannot write"):
            await store.put_file("r/a.webm", payload, content_type="video/webm")
    finally:
        root.chmod(0o700)


async def test_missing_bucket_is_a_storage_error(s3_endpoint: str, payload: Path) -> None:
    store = S3Storage(
        "no-such-bucket",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key="test",
        secret_key="test",
    )
    try:
        with pytest.raises(StorageError, match="no-such-bucket"):
            await store.put_file("r/a.webm", payload, content_type="video/webm")
    finally:
        store.close()
