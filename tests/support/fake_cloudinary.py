"""A stand-in for Cloudinary's Upload API on 127.0.0.1, following Cloudinary's documented
contract: ``POST /v1_1/{cloud}/{resource_type}/upload`` and ``.../destroy``, multipart or
form bodies, errors ``{"error": {"message": ...}}``.

- The signature is checked by the fake's own signer (written from the documentation, apart
  from liveclass's): every parameter but ``file``, ``cloud_name``, ``resource_type``,
  ``api_key`` and ``signature``, sorted, ``k=v`` joined with ``&``, the secret appended,
  hex SHA-1. A wrong key or signature is 401; a timestamp over an hour old is 400 "Stale
  request", as Cloudinary answers.
- Chunks: ``X-Unique-Upload-Id`` and ``Content-Range: bytes a-b/total`` (``/-1`` while the
  total is unknown); each chunk must start where the previous ended. The last chunk's
  answer is the asset (``public_id`` = folder/public_id, ``secure_url``, ``bytes``, ...);
  the documents do not give the shape of an earlier chunk's answer, the fake answers
  ``{"done": false, "bytes": <so far>}``.
- The asset's bytes are served at its ``secure_url`` (on this server), so a test can
  download what was stored.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(-1|\d+)$")
NOT_SIGNED = frozenset({"file", "cloud_name", "resource_type", "api_key", "signature"})
MAX_AGE = 3600


class CloudinaryRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class RecordedCall:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    file_size: int | None


@dataclass
class _Upload:
    received: bytearray = field(default_factory=bytearray)


@dataclass
class FakeCloudinary:
    cloud_name: str
    api_key: str
    api_secret: str
    server_url: str = ""
    calls: list[RecordedCall] = field(default_factory=list)
    assets: dict[str, bytes] = field(default_factory=dict)  # public_id -> bytes
    uploads: dict[str, _Upload] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    stall_next: int = 0
    stall_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> Response:
        params, file = _form(request.headers.get("content-type", ""), await request.body())
        headers = dict(request.headers)
        self.calls.append(
            RecordedCall(request.url.path, params, headers, None if file is None else len(file))
        )
        injected = await self._injected()
        if injected is not None:
            return injected
        try:
            if request.path_params["cloud"] != self.cloud_name:
                raise CloudinaryRefusal(401, f"Invalid cloud_name {request.path_params['cloud']}")
            self._check_signature(params)
            if request.path_params["action"] == "destroy":
                return JSONResponse(self._destroy(params))
            return JSONResponse(
                self._upload(request.path_params["resource_type"], params, file, headers)
            )
        except CloudinaryRefusal as exc:
            return JSONResponse({"error": {"message": exc.message}}, status_code=exc.status)

    async def serve_asset(self, request: Request) -> Response:
        public_id = request.path_params["public_id"].rsplit(".", 1)[0]
        content = self.assets.get(public_id)
        if content is None:
            return Response(b"not found", status_code=404)
        return Response(content, media_type="video/mp4")

    async def _injected(self) -> Response | None:
        with self._lock:
            stall = 0.0
            if self.stall_next > 0:
                self.stall_next -= 1
                stall = self.stall_seconds
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        if stall:
            await asyncio.sleep(stall)
        if not failing:
            return None
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        body = {"error": {"message": f"injected {self.fail_status}"}}
        return JSONResponse(body, status_code=self.fail_status, headers=headers)

    def expected_signature(self, params: dict[str, str]) -> str:
        signed = sorted((k, v) for k, v in params.items() if k not in NOT_SIGNED and v != "")
        to_sign = "&".join(f"{k}={v}" for k, v in signed) + self.api_secret
        return hashlib.sha1(to_sign.encode()).hexdigest()

    def _check_signature(self, params: dict[str, str]) -> None:
        if params.get("api_key") != self.api_key:
            raise CloudinaryRefusal(401, f"Unknown API key {params.get('api_key')}")
        if not hmac.compare_digest(params.get("signature", ""), self.expected_signature(params)):
            raise CloudinaryRefusal(401, "Invalid Signature")
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit():
            raise CloudinaryRefusal(400, "Missing required parameter - timestamp")
        if time.time() - int(timestamp) > MAX_AGE:
            raise CloudinaryRefusal(400, f"Stale request - reported time is {timestamp}")

    def _upload(
        self,
        resource_type: str,
        params: dict[str, str],
        file: bytes | None,
        headers: dict[str, str],
    ) -> dict[str, Any]:
        if file is None:
            raise CloudinaryRefusal(400, "Missing required parameter - file")
        content_range = headers.get("content-range")
        if content_range is None:
            return self._store(resource_type, params, file)
        match = CONTENT_RANGE.match(content_range)
        upload_id = headers.get("x-unique-upload-id", "")
        if match is None or not upload_id:
            raise CloudinaryRefusal(400, "Invalid Content-Range or X-Unique-Upload-Id")
        first, last, total = int(match[1]), int(match[2]), int(match[3])
        upload = self.uploads.setdefault(upload_id, _Upload())
        if first != len(upload.received) or last - first + 1 != len(file):
            raise CloudinaryRefusal(
                400, f"Chunk {first}-{last} does not follow byte {len(upload.received)}"
            )
        upload.received += file
        if total == -1 or len(upload.received) < total:
            return {"done": False, "bytes": len(upload.received)}
        if len(upload.received) != total:
            raise CloudinaryRefusal(400, f"Received {len(upload.received)} bytes, not {total}")
        del self.uploads[upload_id]
        return self._store(resource_type, params, bytes(upload.received))

    def _store(self, resource_type: str, params: dict[str, str], content: bytes) -> dict[str, Any]:
        name = params.get("public_id") or hashlib.sha1(content).hexdigest()[:20]
        folder = params.get("folder", "").strip("/")
        public_id = f"{folder}/{name}" if folder else name
        self.assets[public_id] = content
        version = int(time.time())
        base = f"{self.server_url}/{self.cloud_name}"
        return {
            "asset_id": hashlib.md5(public_id.encode()).hexdigest(),
            "public_id": public_id,
            "version": version,
            "resource_type": resource_type,
            "type": "upload",
            "format": "mp4",
            "bytes": len(content),
            "secure_url": f"{base}/{resource_type}/upload/v{version}/{public_id}.mp4",
        }

    def _destroy(self, params: dict[str, str]) -> dict[str, Any]:
        public_id = params.get("public_id")
        if not public_id:
            raise CloudinaryRefusal(400, "Missing required parameter - public_id")
        return {"result": "ok" if self.assets.pop(public_id, None) is not None else "not found"}


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """The text fields and the ``file`` part of a multipart or urlencoded body."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode())), None
    if not content_type.startswith("multipart/form-data"):
        return {}, None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    params: dict[str, str] = {}
    file: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == "file":
            file = payload
        else:
            params[name] = payload.decode()
    return params, file


@contextmanager
def serve_fake_cloudinary(
    cloud_name: str = "liveclass-test", api_key: str = "123456789", api_secret: str = "s3cr3t"
) -> Iterator[tuple[FakeCloudinary, LoopbackApp]]:
    """The fake and its server; the API base is ``server.url + "/v1_1"``."""
    fake = FakeCloudinary(cloud_name, api_key, api_secret)
    app = Starlette(
        routes=[
            Route(
                "/v1_1/{cloud}/{resource_type}/{action:str}",
                fake.handle,
                methods=["POST"],
            ),
            Route(
                "/{cloud}/{resource_type}/upload/{version}/{public_id:path}",
                fake.serve_asset,
                methods=["GET"],
            ),
        ]
    )
    server = LoopbackApp(app, "fake Cloudinary server")
    fake.server_url = server.url
    server.start()
    try:
        yield fake, server
    finally:
        server.stop()
