"""A Cloudinary upload client for large recordings: signed, chunked video uploads into
``live-sessions/{course_id}``, and destroy by public id, over httpx.

Signature (Cloudinary, "Generating authentication signatures"): every parameter sent except
``file``, ``cloud_name``, ``resource_type`` and ``api_key``, with ``timestamp``, sorted by
name and joined as ``k=v`` with ``&``; the API secret appended; the hex SHA-1 (or SHA-256)
of that. As Cloudinary's SDKs do, arrays are comma-joined, empty values left out and an
``&`` inside a value written ``%26``.

Chunks (Cloudinary's ``upload_large``): each is its own POST to the same upload endpoint,
with the same ``X-Unique-Upload-Id`` and ``Content-Range: bytes {first}-{last}/{total}``;
the answer to the last chunk is the asset. When the total is not known in advance (a
stream) the non-final chunks say ``/-1``, as Cloudinary's stream uploader does. Only one
chunk is held in memory at a time. Cloudinary's minimum chunk is 5 MB, its default 20 MB.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.transport import (
    DEFAULT_MAX_RETRY_WAIT,
    ProviderTransport,
    body_gist,
    error_body,
)

CLOUDINARY_API_URL = "https://api.cloudinary.com/v1_1"
PROVIDER = "Cloudinary"
DEFAULT_CHUNK_SIZE = 20_000_000
# A chunk of 20 MB over a slow uplink takes a while; the wait is per chunk, not per file.
DEFAULT_TIMEOUT = 120.0
UNSIGNED_PARAMS = frozenset({"file", "cloud_name", "resource_type", "api_key"})
SIGNATURE_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


@dataclass(frozen=True, slots=True)
class CloudinaryCredentials:
    cloud_name: str
    api_key: str
    api_secret: str

    @classmethod
    def from_url(cls, url: str) -> CloudinaryCredentials:
        """``cloudinary://<api_key>:<api_secret>@<cloud_name>`` (``CLOUDINARY_URL``)."""
        parts = urlsplit(url.strip())
        if parts.scheme != "cloudinary":
            raise ValueError("CLOUDINARY_URL must start with cloudinary://")
        if not (parts.username and parts.password and parts.hostname):
            raise ValueError("CLOUDINARY_URL must be cloudinary://api_key:api_secret@cloud_name")
        # hostname is lower-cased by urlsplit; a cloud name keeps its case
        cloud = parts.netloc.rsplit("@", 1)[1]
        return cls(cloud, unquote(parts.username), unquote(parts.password))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CloudinaryCredentials:
        """``CLOUDINARY_URL`` if set, else ``CLOUD_NAME``/``CLOUD_API_KEY``/``CLOUD_API_SECRET``
        (the names seed 003 uses)."""
        if env.get("CLOUDINARY_URL"):
            return cls.from_url(env["CLOUDINARY_URL"])
        names = ("CLOUD_NAME", "CLOUD_API_KEY", "CLOUD_API_SECRET")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise ValueError(f"Cloudinary needs CLOUDINARY_URL or {', '.join(missing)}")
        return cls(env["CLOUD_NAME"], env["CLOUD_API_KEY"], env["CLOUD_API_SECRET"])


def signature_payload(params: Mapping[str, Any]) -> str:
    """The string Cloudinary signs (before the secret is appended)."""
    pairs = []
    for key in sorted(params):
        value = _param_text(params[key])
        if key in UNSIGNED_PARAMS or value == "":
            continue
        pairs.append(f"{key}={value.replace('&', '%26')}")
    return "&".join(pairs)


def api_sign_request(params: Mapping[str, Any], api_secret: str, *, algorithm: str = "sha1") -> str:
    """The hex ``signature`` for an Upload API call with ``params``."""
    digest = SIGNATURE_ALGORITHMS[algorithm]
    return digest((signature_payload(params) + api_secret).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class UploadedAsset:
    public_id: str
    secure_url: str
    bytes: int
    resource_type: str = "video"
    version: int = 0
    duration: float | None = None


class CloudinaryClient:
    """Uploads and destroys video assets in one Cloudinary product environment."""

    def __init__(
        self,
        credentials: CloudinaryCredentials,
        *,
        api_url: str = CLOUDINARY_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.credentials = credentials
        self.api_url = api_url.rstrip("/")
        self.chunk_size = chunk_size
        self._clock = clock
        self._wire = ProviderTransport(
            PROVIDER, http=http, timeout=timeout, max_retry_wait=max_retry_wait
        )

    async def aclose(self) -> None:
        await self._wire.aclose()

    def _endpoint(self, action: str) -> str:
        return f"{self.api_url}/{self.credentials.cloud_name}/video/{action}"

    async def upload_file(self, path: Path, *, course_id: str, public_id: str) -> UploadedAsset:
        """Upload the file at ``path`` chunk by chunk."""
        size = (await asyncio.to_thread(path.stat)).st_size
        return await self.upload_video(
            read_chunks(path, self.chunk_size), course_id=course_id, public_id=public_id, size=size
        )

    async def upload_video(
        self,
        source: AsyncIterable[bytes],
        *,
        course_id: str,
        public_id: str,
        size: int | None = None,
    ) -> UploadedAsset:
        """Upload a stream of bytes as ``live-sessions/{course_id}/{public_id}``; ``size``
        if known. The asset Cloudinary answers must hold every byte sent."""
        params = self._signed({"folder": f"live-sessions/{course_id}", "public_id": public_id})
        upload_id = secrets.token_hex(16)
        answer: dict[str, Any] = {}
        sent = 0
        async for chunk, last in _with_last(_rechunk(source, self.chunk_size)):
            total = sent + len(chunk) if last else (size if size is not None else -1)
            answer = await self._send_chunk(params, upload_id, chunk, first=sent, total=total)
            sent += len(chunk)
        if sent == 0:
            raise ValueError("there is nothing to upload (an empty recording)")
        return _asset(answer, expected_bytes=sent)

    async def destroy(self, public_id: str) -> bool:
        """Delete the video asset: True if it was there, False if Cloudinary had no such
        asset (``{"result": "not found"}``)."""
        params = self._signed({"public_id": public_id, "invalidate": "true"})
        reply = await self._call(self._endpoint("destroy"), data=params)
        result = reply.get("result")
        if result == "ok":
            return True
        if result == "not found":
            return False
        raise ProviderUnavailable(PROVIDER, f"destroy answered result {result!r}")

    def _signed(self, params: Mapping[str, str]) -> dict[str, str]:
        signed = {**params, "timestamp": str(int(self._clock()))}
        signed["signature"] = api_sign_request(signed, self.credentials.api_secret)
        signed["api_key"] = self.credentials.api_key
        return signed

    async def _send_chunk(
        self, params: Mapping[str, str], upload_id: str, chunk: bytes, *, first: int, total: int
    ) -> dict[str, Any]:
        headers = {
            "X-Unique-Upload-Id": upload_id,
            "Content-Range": f"bytes {first}-{first + len(chunk) - 1}/{total}",
        }
        files = {"file": ("recording.mp4", chunk, "application/octet-stream")}
        return await self._call(self._endpoint("upload"), data=params, files=files, headers=headers)

    async def _call(self, url: str, **kwargs: Any) -> dict[str, Any]:
        return await self._wire.call("POST", url, refusal=_refusal, what=url, **kwargs)


async def read_chunks(path: Path, chunk_size: int) -> AsyncIterator[bytes]:
    """The file's bytes, ``chunk_size`` at a time, read off the event loop."""
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, chunk_size):
            yield chunk


async def _rechunk(source: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Pieces of exactly ``size`` bytes (the last one shorter) from pieces of any size."""
    buffer = bytearray()
    async for piece in source:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


async def _with_last(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[bytes, bool]]:
    # one chunk of look-ahead: the last chunk's Content-Range must carry the real total
    current = await anext(chunks, None)
    while current is not None:
        following = await anext(chunks, None)
        yield current, following is None
        current = following


def _asset(answer: Mapping[str, Any], *, expected_bytes: int) -> UploadedAsset:
    public_id, secure_url = answer.get("public_id"), answer.get("secure_url")
    if not isinstance(public_id, str) or not isinstance(secure_url, str):
        raise ProviderUnavailable(PROVIDER, "the last chunk's answer names no asset")
    stored = answer.get("bytes")
    if not isinstance(stored, int) or stored != expected_bytes:
        raise ProviderUnavailable(PROVIDER, f"stored {stored!r} bytes of {expected_bytes} sent")
    duration = answer.get("duration")
    version = answer.get("version")
    return UploadedAsset(
        public_id=public_id,
        secure_url=secure_url,
        bytes=stored,
        resource_type=str(answer.get("resource_type", "video")),
        version=version if isinstance(version, int) else 0,
        duration=float(duration) if isinstance(duration, int | float) else None,
    )


def _refusal(what: str, response: httpx.Response) -> ProviderError:
    """Cloudinary's ``{"error": {"message": ...}}``, or the status alone."""
    error = error_body(response).get("error")
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str):
        message = body_gist(response, response.reason_phrase)
    return ProviderError(PROVIDER, response.status_code, f"http_{response.status_code}", message)


def _param_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(_param_text(item) for item in value)
    return str(value)
