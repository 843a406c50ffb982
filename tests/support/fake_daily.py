"""A stand-in for Daily's REST API (``/v1``) on 127.0.0.1, following Daily's documented
contract, not liveclass's expectations:

- ``Authorization: Bearer <API key>``; errors ``{"error": <code>, "info": <text>}`` with
  Daily's codes (``authentication-error`` 401, ``not-found`` 404, ``invalid-request-error``
  400, ``rate-limit-error`` 429).
- Rooms: ``POST /rooms`` (name optional, ``[A-Za-z0-9_-]`` up to 128), ``GET/POST/DELETE
  /rooms/:name``; a room past its ``exp`` is gone (404), as Daily deletes expired rooms.
- Meeting tokens: ``POST /meeting-tokens`` answers ``{token}``, an HS256 JWT signed with
  the API key in Daily's self-signed format (``r``, ``o``, ``u``, ``ud``, ``exp``, ``nbf``,
  ``d``, ``iat``); ``GET /meeting-tokens/:token`` validates it and answers its properties.
- Recordings: ``POST /rooms/:name/recordings/start|stop`` (start needs the room's
  ``enable_recording``; stop is 400 when none is running), ``GET /recordings``
  (``{total_count, data}``), ``GET /recordings/:id``, ``GET /recordings/:id/access-link``
  (``{download_link, expires}``, a signed link to this server that serves the file bytes).
- Webhooks signed as Daily signs them: base64 HMAC-SHA256 keyed with the base64-decoded
  secret over ``timestamp + "." + body``, in ``X-Webhook-Signature``/``X-Webhook-Timestamp``.

Where Daily's documents do not say, the fake reads strictly; the start answer's
``recordingId`` is the fake's reading of what Daily returns.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
ROOM_PROPERTIES = frozenset(
    {"exp", "nbf", "max_participants", "enable_recording", "eject_at_room_exp", "enable_chat"}
)
TOKEN_CLAIMS = {
    "room_name": "r",
    "is_owner": "o",
    "user_name": "u",
    "user_id": "ud",
    "exp": "exp",
    "nbf": "nbf",
}


class DailyRefusal(Exception):
    def __init__(self, status: int, error: str, info: str) -> None:
        super().__init__(info)
        self.status, self.error, self.info = status, error, info


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    headers: dict[str, str]


@dataclass
class _Recording:
    info: dict[str, Any]
    content: bytes = b""


@dataclass
class FakeDaily:
    api_key: str
    webhook_secret: str  # base64, as Daily's POST /webhooks answers ``hmac``
    domain_url: str = "https://liveclass-test.daily.co"
    domain_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    recording_size: int = 300_000
    calls: list[RecordedCall] = field(default_factory=list)
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    recordings: dict[str, _Recording] = field(default_factory=dict)
    # the next N calls answer this status (Daily's error body), with Retry-After if set
    fail_next: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    # the next N calls are held this long before answering
    stall_next: int = 0
    stall_seconds: float = 0.0
    server_url: str = ""
    _link_key: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # the HTTP surface

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        # route on the raw path: an encoded "/" inside a name stays inside that segment
        path = request.scope["raw_path"].decode().split("?")[0].removeprefix("/v1")
        self.calls.append(
            RecordedCall(
                request.method, path, dict(request.query_params), body, dict(request.headers)
            )
        )
        stall, failure = self._take_injected()
        if stall:
            await asyncio.sleep(stall)
        if failure is not None:
            return failure
        try:
            self._authorize(request)
            return JSONResponse(self._route(request.method, path, body, request))
        except DailyRefusal as exc:
            return JSONResponse({"error": exc.error, "info": exc.info}, status_code=exc.status)

    async def download(self, request: Request) -> Response:
        recording = self.recordings.get(request.path_params["recording_id"])
        expected = self._link_signature(request.path_params["recording_id"])
        given = request.query_params.get("sig", "")
        if recording is None or not hmac.compare_digest(given, expected):
            return Response(b"<Error>AccessDenied</Error>", status_code=403)
        return Response(recording.content, media_type="video/mp4")

    def _take_injected(self) -> tuple[float, Response | None]:
        with self._lock:
            stall = 0.0
            if self.stall_next > 0:
                self.stall_next -= 1
                stall = self.stall_seconds
            if self.fail_next <= 0:
                return stall, None
            self.fail_next -= 1
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        error = "rate-limit-error" if self.fail_status == 429 else "server-error"
        body = {"error": error, "info": f"injected {self.fail_status}"}
        return stall, JSONResponse(body, status_code=self.fail_status, headers=headers)

    def _authorize(self, request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            raise DailyRefusal(401, "authentication-error", "Invalid API key")

    def _route(self, method: str, path: str, body: Any, request: Request) -> dict[str, Any]:
        parts = [unquote(part) for part in path.strip("/").split("/")]
        match method, parts:
            case "POST", ["rooms"]:
                return self._create_room(body or {})
            case "GET", ["rooms", name]:
                return self._room(name)
            case "POST", ["rooms", name]:
                return self._update_room(name, body or {})
            case "DELETE", ["rooms", name]:
                self._room(name)
                del self.rooms[name]
                return {"deleted": True, "name": name}
            case "POST", ["meeting-tokens"]:
                return self._mint_token(body or {})
            case "GET", ["meeting-tokens", token]:
                return self._validate_token(token)
            case "POST", ["rooms", name, "recordings", "start"]:
                return self._start_recording(name)
            case "POST", ["rooms", name, "recordings", "stop"]:
                return self._stop_recording(name)
            case "GET", ["recordings"]:
                return self._list_recordings(request.query_params.get("room_name"))
            case "GET", ["recordings", recording_id]:
                return dict(self._recording(recording_id).info)
            case "GET", ["recordings", recording_id, "access-link"]:
                return self._access_link(recording_id)
        raise DailyRefusal(404, "not-found", f"{method} {path} is not an endpoint")

    # rooms

    def _create_room(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name") or secrets.token_hex(10)
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            raise DailyRefusal(400, "invalid-request-error", "name must match [A-Za-z0-9_-]")
        if name in self.rooms and not self._expired(self.rooms[name]):
            raise DailyRefusal(400, "invalid-request-error", f"a room named {name} already exists")
        privacy = body.get("privacy", "public")
        if privacy not in ("public", "private"):
            raise DailyRefusal(400, "invalid-request-error", "privacy must be public or private")
        properties = self._checked_properties(body.get("properties") or {})
        room = {
            "id": str(uuid.uuid4()),
            "name": name,
            "api_created": True,
            "privacy": privacy,
            "url": f"{self.domain_url}/{name}",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "config": properties,
        }
        self.rooms[name] = room
        return _copy(room)

    def _update_room(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        room = self.rooms[self._room(name)["name"]]
        room["config"].update(self._checked_properties(body.get("properties") or {}))
        return _copy(room)

    def _checked_properties(self, properties: Any) -> dict[str, Any]:
        if not isinstance(properties, dict):
            raise DailyRefusal(400, "invalid-request-error", "properties must be an object")
        unknown = sorted(set(properties) - ROOM_PROPERTIES)
        if unknown:
            raise DailyRefusal(400, "invalid-request-error", f"unknown properties {unknown}")
        for key in ("exp", "nbf", "max_participants"):
            if key in properties and not isinstance(properties[key], int):
                raise DailyRefusal(400, "invalid-request-error", f"{key} must be an integer")
        recording = properties.get("enable_recording")
        if recording not in (None, "cloud", "local", "raw-tracks"):
            raise DailyRefusal(400, "invalid-request-error", "unknown enable_recording")
        return dict(properties)

    def _room(self, name: str) -> dict[str, Any]:
        room = self.rooms.get(name)
        if room is None or self._expired(room):
            raise DailyRefusal(404, "not-found", f"room {name} not found")
        return _copy(room)

    @staticmethod
    def _expired(room: dict[str, Any]) -> bool:
        exp = room["config"].get("exp")
        return isinstance(exp, int) and exp < time.time()

    # meeting tokens

    def _mint_token(self, body: dict[str, Any]) -> dict[str, Any]:
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise DailyRefusal(400, "invalid-request-error", "properties must be an object")
        claims: dict[str, Any] = {"d": self.domain_id, "iat": int(time.time())}
        for name, value in properties.items():
            if name not in TOKEN_CLAIMS:
                raise DailyRefusal(400, "invalid-request-error", f"unknown property {name}")
            claims[TOKEN_CLAIMS[name]] = value
        return {"token": jwt.encode(claims, self.api_key, algorithm="HS256")}

    def _validate_token(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self.api_key, algorithms=["HS256"])
        except jwt.PyJWTError as exc:
            raise DailyRefusal(400, "invalid-request-error", f"token invalid: {exc}") from exc
        return {name: claims[short] for name, short in TOKEN_CLAIMS.items() if short in claims}

    # recordings

    def _start_recording(self, name: str) -> dict[str, Any]:
        room = self._room(name)
        if room["config"].get("enable_recording") not in ("cloud", "raw-tracks"):
            raise DailyRefusal(400, "invalid-request-error", "recording is not enabled")
        if self._active_recording(name) is not None:
            raise DailyRefusal(400, "invalid-request-error", "a recording is already running")
        recording_id = str(uuid.uuid4())
        info = {
            "id": recording_id,
            "room_name": name,
            "start_ts": int(time.time()),
            "status": "in-progress",
            "max_participants": 0,
        }
        self.recordings[recording_id] = _Recording(info)
        return {"recordingId": recording_id}

    def _stop_recording(self, name: str) -> dict[str, Any]:
        self._room(name)
        recording = self._active_recording(name)
        if recording is None:
            raise DailyRefusal(400, "invalid-request-error", "no active recording to stop")
        recording.info["status"] = "finished"
        recording.info["duration"] = max(1, int(time.time()) - recording.info["start_ts"])
        recording.content = secrets.token_bytes(self.recording_size)
        return {}

    def _active_recording(self, name: str) -> _Recording | None:
        for recording in self.recordings.values():
            if recording.info["room_name"] == name and recording.info["status"] == "in-progress":
                return recording
        return None

    def _recording(self, recording_id: str) -> _Recording:
        recording = self.recordings.get(recording_id)
        if recording is None:
            raise DailyRefusal(404, "not-found", f"recording {recording_id} not found")
        return recording

    def _list_recordings(self, room_name: str | None) -> dict[str, Any]:
        data = [
            _copy(r.info)
            for r in self.recordings.values()
            if room_name is None or r.info["room_name"] == room_name
        ]
        return {"total_count": len(data), "data": data}

    def _access_link(self, recording_id: str) -> dict[str, Any]:
        recording = self._recording(recording_id)
        if recording.info["status"] != "finished":
            raise DailyRefusal(400, "invalid-request-error", "the recording is not finished")
        sig = self._link_signature(recording_id)
        link = f"{self.server_url}/downloads/{recording_id}?sig={sig}"
        return {"download_link": link, "expires": int(time.time()) + 3600}

    def _link_signature(self, recording_id: str) -> str:
        return hmac.new(self._link_key, recording_id.encode(), hashlib.sha256).hexdigest()

    # webhooks

    def event(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": "1.0.0",
            "type": event_type,
            "id": f"evt-{uuid.uuid4()}",
            "payload": payload,
            "event_ts": time.time(),
        }

    def sign_webhook(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> SignedWebhook:
        body = json.dumps(event, separators=(",", ":")).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key = base64.b64decode(secret or self.webhook_secret)
        signature = base64.b64encode(
            hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).digest()
        ).decode()
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Signature": signature,
            "X-Webhook-Timestamp": stamp,
        }
        return SignedWebhook(body, headers)

    @staticmethod
    def verification_request() -> SignedWebhook:
        """The test POST Daily sends before creating a webhook: not an event, unsigned."""
        return SignedWebhook(b'{"test":"test"}', {"Content-Type": "application/json"})

    @staticmethod
    def deliver(url: str, webhook: SignedWebhook) -> httpx.Response:
        return httpx.post(url, content=webhook.body, headers=webhook.headers, timeout=10)


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(message))
    return copied


@contextmanager
def serve_fake_daily(
    api_key: str = "daily-api-key-for-the-liveclass-tests-000", webhook_secret: str | None = None
) -> Iterator[tuple[FakeDaily, LoopbackApp]]:
    """The fake and its server; the API base is ``server.url + "/v1"``."""
    secret = webhook_secret or base64.b64encode(secrets.token_bytes(32)).decode()
    fake = FakeDaily(api_key=api_key, webhook_secret=secret)
    methods = ["GET", "POST", "DELETE"]
    app = Starlette(
        routes=[
            Route("/v1/{path:path}", fake.handle, methods=methods),
            Route("/downloads/{recording_id}", fake.download, methods=["GET"]),
        ]
    )
    server = LoopbackApp(app, "fake Daily server")
    fake.server_url = server.url
    server.start()
    try:
        yield fake, server
    finally:
        server.stop()
