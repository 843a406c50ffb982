"""A stand-in for Jitsi as a Service's side of a class, on 127.0.0.1: the webhooks it sends
(payload and ``X-Jaas-Signature: t=<unix>,v1=base64(HMAC-SHA256(secret, t + "." + body))``
as 8x8 documents them) and the pre-authenticated recording links they carry, served by
a loopback server (JaaS cannot be reached from here). Every download is recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

SIGNATURE_HEADER = "X-Jaas-Signature"


@dataclass
class FakeJaas:
    app_id: str
    webhook_secret: str
    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # link signature -> bytes
    downloads: list[str] = field(default_factory=list)
    # the only calls JaaS answers are downloads: fail the next N with this status
    fail_next: int = 0
    fail_status: int = 503

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/recordings/{name}", self.download, methods=["GET"])])

    async def download(self, request: Request) -> Response:
        self.downloads.append(request.url.path)
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(f"injected {self.fail_status}", status_code=self.fail_status)
        content = self.files.get(request.query_params.get("sig", ""))
        if content is None:
            return Response("AccessDenied", status_code=403)
        return Response(content, media_type="video/mp4")

    def event(self, event_type: str, room: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "idempotencyKey": str(uuid.uuid4()),
            "customerId": self.app_id.removeprefix("vpaas-magic-cookie-"),
            "appId": self.app_id,
            "eventType": event_type,
            "sessionId": str(uuid.uuid4()),
            "timestamp": int(time.time() * 1000),
            "fqn": f"{self.app_id}/{room}",
            "data": data,
        }

    def recording_uploaded(self, room: str, content: bytes) -> dict[str, Any]:
        sig = secrets.token_urlsafe(24)
        self.files[sig] = content
        link = f"{self.url}/recordings/{room}.mp4?sig={sig}"
        return self.event(
            "RECORDING_UPLOADED",
            room,
            {"participants": [], "preAuthenticatedLink": link, "share": True},
        )

    def sign(
        self, event: dict[str, Any], *, t: int | None = None, secret: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(event).encode()
        stamp = str(int(time.time()) if t is None else t)
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).digest()
        signature = base64.b64encode(digest).decode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: f"t={stamp},v1={signature}",
        }
        return headers, body


@contextmanager
def serve_fake_jaas(*, app_id: str, webhook_secret: str) -> Iterator[FakeJaas]:
    fake = FakeJaas(app_id, webhook_secret)
    server = LoopbackApp(fake.app(), "fake JaaS")
    fake.url = server.url
    server.start()
    try:
        yield fake
    finally:
        server.stop()
