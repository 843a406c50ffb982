"""Where finished recordings live: a local directory by default, an S3-compatible bucket or
Cloudinary when configured. Keys are relative, slash-separated paths such as
``<recording id>/class.webm``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from liveclass.config import S3_EXTRA_HINT, Settings
from liveclass.domain.errors import DomainError
from liveclass.providers.cloudinary_api import (
    CloudinaryClient,
    CloudinaryCredentials,
)
from liveclass.recording.errors import ObjectMissing, ServedByStorage, StorageError

CHUNK_BYTES = 256 * 1024


class RecordingStorage(Protocol):
    """A few async operations on whole files, enough to keep and serve recordings."""

    async def put_file(self, key: str, source: Path, *, content_type: str) -> int:
        """Store ``source`` under ``key`` (replacing it); return the stored size in bytes."""
        ...

    async def put_stream(
        self, key: str, source: AsyncIterable[bytes], *, content_type: str, course_id: str | None
    ) -> StoredObject:
        """Store a stream (a provider's download) without holding it in memory; where it
        landed (the key to keep may differ from ``key``) and its size."""
        ...

    async def size(self, key: str) -> int:
        """Size in bytes; ``ObjectMissing`` when the key is absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    def open_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``start..end`` (both inclusive; ``end=None`` means to the last byte)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the key; deleting an absent key is not an error."""
        ...

    def close(self) -> None:
        """Release what the storage holds open (at shutdown)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    url: str | None = None  # where the storage serves it itself (Cloudinary's secure URL)


async def spool(
    storage: RecordingStorage, key: str, source: AsyncIterable[bytes], *, content_type: str
) -> StoredObject:
    """``put_stream`` for a storage that stores files: the stream goes to a temporary file
    first (memory stays flat), then in with ``put_file``."""
    with tempfile.TemporaryDirectory(prefix="liveclass-download-") as folder:
        path = Path(folder) / "download"
        with path.open("wb") as handle:
            async for chunk in source:
                await asyncio.to_thread(handle.write, chunk)
        size = await storage.put_file(key, path, content_type=content_type)
    return StoredObject(key, size)


def check_key(key: str) -> str:
    """Reject keys that could escape the storage root or name nothing."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key:
        raise StorageError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Recordings as files under one directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put_file(self, key: str, source: Path, *, content_type: str) -> int:
        return await asyncio.to_thread(self._put, self.path_of(key), source)

    def _put(self, target: Path, source: Path) -> int:
        # copy to a sibling then rename, so a reader never sees half a file
        partial = target.with_name(target.name + ".partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, partial)
            os.replace(partial, target)
            return target.stat().st_size
        except OSError as exc:
            with contextlib.suppress(OSError):  # the parent may not even be a directory
                partial.unlink(missing_ok=True)
            raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from exc

    async def put_stream(
        self, key: str, source: AsyncIterable[bytes], *, content_type: str, course_id: str | None
    ) -> StoredObject:
        return await spool(self, key, source, content_type=content_type)

    async def size(self, key: str) -> int:
        try:
            return self.path_of(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectMissing(f"no stored object {key!r}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc.strerror or exc}") from exc

    async def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(f"no stored object {key!r}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc.strerror or exc}") from exc
        with handle:
            handle.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc.strerror or exc}") from exc
        # drop the recording's folder once it is empty; other keys may still live there
        parent = path.parent
        if parent != self.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

    def close(self) -> None:
        """Nothing is held open between operations."""


class S3Storage:
    """Recordings as objects in an S3-compatible bucket (AWS, MinIO, Ceph, ...), via boto3.

    boto3 is synchronous, so every call runs in a worker thread.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        try:
            import boto3  # optional: only S3 deployments need it
        except ModuleNotFoundError as exc:
            raise StorageError(f"S3 storage needs boto3: {S3_EXTRA_HINT}") from exc

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
        )

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put_file(self, key: str, source: Path, *, content_type: str) -> int:
        name = self._object_key(key)
        try:
            await asyncio.to_thread(
                self._client.upload_file,
                str(source),
                self.bucket,
                name,
                ExtraArgs={"ContentType": content_type},
            )
        except Exception as exc:  # boto3 raises many unrelated types; all mean "not stored"
            raise StorageError(f"cannot upload {key!r} to bucket {self.bucket!r}: {exc}") from exc
        return await self.size(key)

    async def put_stream(
        self, key: str, source: AsyncIterable[bytes], *, content_type: str, course_id: str | None
    ) -> StoredObject:
        return await spool(self, key, source, content_type=content_type)

    async def size(self, key: str) -> int:
        head = await self._head(key)
        if head is None:
            raise ObjectMissing(f"no stored object {key!r}")
        return int(head["ContentLength"])

    async def exists(self, key: str) -> bool:
        return await self._head(key) is not None

    async def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = await asyncio.to_thread(
                self._client.head_object, Bucket=self.bucket, Key=self._object_key(key)
            )
        except Exception as exc:
            if _s3_error_code(exc) in _MISSING_CODES:
                return None
            raise StorageError(f"cannot read {key!r}: {exc}") from exc
        return head

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        bytes_range = f"bytes={start}-" if end is None else f"bytes={start}-{end}"
        try:
            reply = await asyncio.to_thread(
                self._client.get_object,
                Bucket=self.bucket,
                Key=self._object_key(key),
                Range=bytes_range,
            )
        except Exception as exc:
            if _s3_error_code(exc) in _MISSING_CODES:
                raise ObjectMissing(f"no stored object {key!r}") from exc
            raise StorageError(f"cannot read {key!r}: {exc}") from exc
        body = reply["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(
                self._client.delete_object, Bucket=self.bucket, Key=self._object_key(key)
            )
        except Exception as exc:
            raise StorageError(f"cannot delete {key!r}: {exc}") from exc

    def close(self) -> None:
        """Close the client's pooled connections (else they close when collected)."""
        self._client.close()


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def _s3_error_code(exc: Exception) -> str | None:
    # botocore's ClientError carries the S3 error code in ``response``; anything else
    # (connection refused, bad credentials file) has none and counts as a storage failure
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


FOLDER = "live-sessions"


class CloudinaryStorage:
    """Recordings as video assets in Cloudinary (seed 003), in ``live-sessions/{course_id}``,
    uploaded signed and in chunks. The key kept is the asset's public id; Cloudinary serves
    the file at its secure URL (the session's ``recording_url``), so liveclass does not
    stream it back itself."""

    def __init__(self, client: CloudinaryClient) -> None:
        self.client = client

    async def put_stream(
        self, key: str, source: AsyncIterable[bytes], *, content_type: str, course_id: str | None
    ) -> StoredObject:
        # the recording's id names the asset: a retried upload replaces, never duplicates
        name = PurePosixPath(check_key(key)).parts[0]
        try:
            asset = await self.client.upload_video(
                source, course_id=course_id or "no-course", public_id=name
            )
        except DomainError as exc:
            raise StorageError(f"cannot upload {key!r} to Cloudinary: {exc.detail}") from exc
        return StoredObject(asset.public_id, asset.bytes, asset.secure_url)

    async def put_file(self, key: str, source: Path, *, content_type: str) -> int:
        stored = await self.put_stream(
            key, _file_chunks(source), content_type=content_type, course_id=None
        )
        return stored.size

    async def size(self, key: str) -> int:
        raise ServedByStorage("Cloudinary serves this recording itself at its recording_url")

    async def exists(self, key: str) -> bool:
        return True  # the asset is Cloudinary's to keep; liveclass holds only its id

    async def open_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        raise ServedByStorage("Cloudinary serves this recording itself at its recording_url")
        yield b""  # pragma: no cover - makes this an async generator

    async def delete(self, key: str) -> None:
        try:
            await self.client.destroy(check_key(key))
        except DomainError as exc:
            raise StorageError(f"cannot delete {key!r} from Cloudinary: {exc.detail}") from exc

    def close(self) -> None:
        """The HTTP client is closed by ``aclose`` (the services do it at shutdown)."""

    async def aclose(self) -> None:
        await self.client.aclose()


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk


def cloudinary_storage(settings: Settings) -> CloudinaryStorage:
    if settings.cloudinary_url is not None:
        credentials = CloudinaryCredentials.from_url(settings.cloudinary_url.get_secret_value())
    else:
        secret = settings.cloudinary_secret
        assert settings.cloud_name and settings.cloud_api_key and secret  # checked by Settings
        credentials = CloudinaryCredentials(settings.cloud_name, settings.cloud_api_key, secret)
    return CloudinaryStorage(CloudinaryClient(credentials, api_url=settings.cloudinary_api_url))


def configured_storage(settings: Settings) -> RecordingStorage:
    """The configured storage: ``RECORDINGS_DIR``, the S3 bucket of ``RECORDING_STORAGE=s3``
    or Cloudinary (``RECORDING_STORAGE=cloudinary``)."""
    if settings.recording_storage == "local":
        return LocalStorage(Path(settings.recordings_dir))
    if settings.recording_storage == "cloudinary":
        return cloudinary_storage(settings)
    assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
    secret = settings.s3_secret_key
    return S3Storage(
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key=settings.s3_access_key,
        secret_key=secret.get_secret_value() if secret is not None else None,
    )
