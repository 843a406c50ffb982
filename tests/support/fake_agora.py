"""A stand-in for Agora's RESTful API on 127.0.0.1, as Agora documents it: HTTP Basic
``customer ID:secret`` on every call, kicking rules (``POST /dev/v1/kicking-rule``) and
Cloud Recording (acquire, start, query, stop; a resource id is good for one session), plus
Agora Notifications signed as Agora signs them (``Agora-Signature-V2`` = hex
HMAC-SHA256(secret, raw body)). Every call is recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

APP_ID = "970CA35de60c44645bbae8a215061b33"
APP_CERTIFICATE = "5CFd2fd1755d40ecb72977518be15d3b"


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class FakeAgora:
    app_id: str = APP_ID
    customer_id: str = field(default_factory=lambda: secrets.token_hex(8))
    customer_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    webhook_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # rid -> acquire body
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> start body
    fail_next: int = 0
    fail_status: int = 503
    retry_after: str | None = None

    def app(self) -> Starlette:
        base = "/v1/apps/{appid}/cloud_recording"
        return Starlette(
            routes=[
                Route("/dev/v1/kicking-rule", self.kick, methods=["POST"]),
                Route(f"{base}/acquire", self.acquire, methods=["POST"]),
                Route(
                    f"{base}/resourceid/{{rid}}/mode/{{mode}}/start", self.start, methods=["POST"]
                ),
                Route(
                    f"{base}/resourceid/{{rid}}/sid/{{sid}}/mode/{{mode}}/query",
                    self.query,
                    methods=["GET"],
                ),
                Route(
                    f"{base}/resourceid/{{rid}}/sid/{{sid}}/mode/{{mode}}/stop",
                    self.stop,
                    methods=["POST"],
                ),
            ]
        )

    async def _enter(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        self.calls.append(Call(request.method, request.url.path, body))
        basic = base64.b64encode(f"{self.customer_id}:{self.customer_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return body, JSONResponse({"message": "Invalid authentication credentials"}, 401)
        if self.fail_next > 0:
            self.fail_next -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return body, Response("injected", status_code=self.fail_status, headers=headers)
        appid = request.path_params.get("appid", body.get("appid"))
        if appid != self.app_id:
            return body, JSONResponse({"code": 2, "reason": "invalid appid"}, 400)
        return body, None

    async def kick(self, request: Request) -> Response:
        body, refused = await self._enter(request)
        if refused is not None:
            return refused
        if not body.get("cname") or not (1 <= int(body.get("time_in_seconds", 0)) <= 86400):
            return JSONResponse({"message": "invalid cname or time"}, 400)
        rule = {**body, "id": len(self.rules) + 1}
        self.rules.append(rule)
        return JSONResponse({"status": "success", "id": rule["id"]})

    async def acquire(self, request: Request) -> Response:
        body, refused = await self._enter(request)
        if refused is not None:
            return refused
        rid = secrets.token_urlsafe(24)
        self.resources[rid] = body
        return JSONResponse({"resourceId": rid})

    async def start(self, request: Request) -> Response:
        body, refused = await self._enter(request)
        if refused is not None:
            return refused
        rid = request.path_params["rid"]
        acquired = self.resources.pop(rid, None)  # one session per resource
        if acquired is None or acquired["cname"] != body.get("cname"):
            return JSONResponse({"code": 2, "reason": "invalid resource id"}, 400)
        storage = body.get("clientRequest", {}).get("storageConfig", {})
        if not storage.get("bucket") or not body["clientRequest"].get("token"):
            return JSONResponse({"code": 2, "reason": "storageConfig and token needed"}, 400)
        sid = secrets.token_hex(16)
        self.sessions[sid] = {**body, "resourceId": rid, "running": True}
        return JSONResponse({"resourceId": rid, "sid": sid})

    def _session(self, request: Request) -> dict[str, Any] | None:
        found = self.sessions.get(request.path_params["sid"])
        if found is None or found["resourceId"] != request.path_params["rid"]:
            return None
        return found

    async def query(self, request: Request) -> Response:
        _, refused = await self._enter(request)
        if refused is not None:
            return refused
        found = self._session(request)
        if found is None or not found["running"]:
            return JSONResponse({"code": 404, "reason": "failed to find worker"}, 404)
        return JSONResponse({"sid": request.path_params["sid"], "serverResponse": {"status": 5}})

    async def stop(self, request: Request) -> Response:
        _, refused = await self._enter(request)
        if refused is not None:
            return refused
        found = self._session(request)
        if found is None or not found["running"]:
            return JSONResponse({"code": 435, "reason": "no recorded file"}, 404)
        found["running"] = False
        files = self.uploaded_files(request.path_params["sid"])
        return JSONResponse(
            {"sid": request.path_params["sid"], "serverResponse": {"fileList": files}}
        )

    def uploaded_files(self, sid: str) -> list[dict[str, Any]]:
        """What Cloud Recording wrote for session ``sid``: its playlist and its MP4."""
        found = self.sessions[sid]
        prefix = "/".join(found["clientRequest"]["storageConfig"].get("fileNamePrefix", []))
        stem = f"{prefix}/{sid}_{found['cname']}".lstrip("/")
        return [
            {"fileName": f"{stem}.m3u8", "trackType": "audio_and_video", "isPlayable": True},
            {"fileName": f"{stem}_0.mp4", "trackType": "audio_and_video", "isPlayable": True},
        ]

    def uploaded_notice(self, sid: str) -> dict[str, Any]:
        """Cloud Recording's "uploaded" notification (productId 3, event 31) for ``sid``."""
        found = self.sessions[sid]
        notice = self.notice(
            31,
            {
                "cname": found["cname"],
                "uid": found["uid"],
                "sid": sid,
                "sequence": 2,
                "sendts": int(time.time() * 1000),
                "serviceType": 0,
                "details": {
                    "msgName": "uploaded",
                    "status": 0,
                    "fileList": self.uploaded_files(sid),
                },
            },
        )
        notice["productId"] = 3
        return notice

    # notifications

    def notice(
        self, event_type: int, payload: dict[str, Any], *, sent: float | None = None
    ) -> dict[str, Any]:
        return {
            "noticeId": f"{secrets.randbelow(10**10)}:{secrets.randbelow(10**4)}:{event_type}",
            "productId": 1,
            "eventType": event_type,
            "notifyMs": int((time.time() if sent is None else sent) * 1000),
            "sid": secrets.token_hex(8),
            "payload": payload,
        }

    def sign(self, notice: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(notice).encode()
        v2 = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        v1 = hmac.new(self.webhook_secret.encode(), body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "Agora-Signature": v1,
            "Agora-Signature-V2": v2,
        }
        return body, headers


@contextmanager
def serve_fake_agora() -> Iterator[FakeAgora]:
    fake = FakeAgora()
    server = LoopbackApp(fake.app(), "fake Agora")
    fake.url = server.url
    server.start()
    try:
        yield fake
    finally:
        server.stop()
