"""A stand-in Zoom for the tests: its Server-to-Server OAuth endpoint, the meeting and cloud
recording calls liveclass makes, recording downloads and signed webhooks, served by uvicorn
on 127.0.0.1 in a thread (Zoom cannot be reached from here).

It follows Zoom's documented contract, not liveclass's expectations:

- ``POST /oauth/token?grant_type=account_credentials&account_id=...`` with
  ``Authorization: Basic base64(client_id:client_secret)`` answers ``{access_token,
  token_type: "bearer", expires_in, scope, api_url}``; its refusals are ``{reason, error}``.
- ``/v2/...`` wants ``Authorization: Bearer <a token it issued>`` (401 ``{code: 124}``
  otherwise); errors are ``{code, message}`` (3001 meeting not found, 3301 recording not
  found, 300 validation); create answers 201, update/end/delete 204.
- ``/v2/meetings/{id}/recordings`` takes a meeting id or an instance UUID decoded once more
  than the path itself, which is why Zoom wants a UUID with ``/`` encoded twice: encoded
  once, its ``/`` splits the path and the route is not found.
- ``download_url`` (``/rec/download/{file}``) takes ``?access_token=`` (the webhook's
  ``download_token`` or an OAuth token) or a Bearer header, and redirects to the file.
- ``POST /v2/meetings/{id}/registrants`` (``email`` and ``first_name`` required; the
  meeting must have registration on, ``settings.approval_type`` 0 or 1) answers 201 with
  the registrant's own ``join_url`` and ``registrant_id``; the same address again answers
  the same registrant. ``participant_event`` for a registered address names it with its
  ``registrant_id``, as Zoom's participant events do.
- ``PATCH /v2/live_meetings/{id}/events`` (in-meeting controls) takes ``method``
  ``recording.start|stop|pause|resume`` while the meeting is live (started, not ended) and
  answers 202; otherwise 400. Zoom's error code for "not live" is not documented in what
  was read; the fake answers 3000.
- Webhooks are signed as Zoom signs them: ``x-zm-signature: v0=hex(HMAC-SHA256(secret,
  "v0:{ts}:{body}"))`` with ``x-zm-request-timestamp`` in seconds; ``validate_endpoint``
  performs the ``endpoint.url_validation`` challenge against a URL and checks the answer.

Every call is recorded; the server can be told to fail, stall, rate limit or go down.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, str]
    body: dict[str, Any]
    authorization: str


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    headers: dict[str, str]


@dataclass
class _Recording:
    info: dict[str, Any]
    download_token: str
    contents: dict[str, bytes] = field(default_factory=dict)


def _zoom_error(status: int, code: int, message: str) -> Response:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _oauth_error(error: str, reason: str) -> Response:
    return JSONResponse({"reason": reason, "error": error}, status_code=400)


def _uuid() -> str:
    # Zoom's instance UUIDs are base64 of 16 bytes, so they may hold '/' and '+'
    return base64.b64encode(secrets.token_bytes(16)).decode()


class FakeZoom:
    """The server's state and behaviour; ``serve_fake_zoom`` puts it on a port."""

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        webhook_secret: str,
        expires_in: int = 3600,
    ) -> None:
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        self.expires_in = expires_in
        self.url = ""  # set by the server once it has a port
        self.calls: list[RecordedCall] = []
        self.token_requests = 0
        self.tokens: dict[str, float] = {}  # token -> expiry (time.time)
        self.meetings: dict[int, dict[str, Any]] = {}
        self.recordings: dict[str, _Recording] = {}  # by instance UUID
        self.registrants: dict[int, dict[str, dict[str, Any]]] = {}  # meeting -> email -> it
        self.cloud_recording: dict[int, str] = {}  # meeting -> last in-meeting control
        # a recording.completed download_token lives 24 hours; tests end that at once
        self.download_tokens_valid = True
        # the next meeting's instance UUID (tests set one with '/' in it)
        self.next_uuid = ""
        # API calls: answer the next N with this status and Zoom's error body
        self.fail_next = 0
        self.fail_status = 503
        # API calls: answer the next N 429 with this Retry-After
        self.rate_limit_next = 0
        self.retry_after = "1"
        # API calls and token requests: hold the next N this many seconds
        self.stall_next = 0
        self.stall_seconds = 0.0
        # the token endpoint: hold every token request this long (to overlap callers)
        self.token_delay = 0.0
        # serve the next N downloads cut short (the bytes Zoom had so far)
        self.short_downloads = 0
        self._lock = threading.Lock()

    # the HTTP edge

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.oauth_token, methods=["POST"]),
                Route("/v2/users/{user_id}/meetings", self.create_meeting, methods=["POST"]),
                Route(
                    "/v2/meetings/{meeting_id}",
                    self.meeting,
                    methods=["GET", "PATCH", "DELETE"],
                ),
                Route("/v2/meetings/{meeting_id}/status", self.meeting_status, methods=["PUT"]),
                Route(
                    "/v2/meetings/{meeting_id}/registrants", self.add_registrant, methods=["POST"]
                ),
                Route("/v2/live_meetings/{meeting_id}/events", self.in_meeting, methods=["PATCH"]),
                Route(
                    "/v2/meetings/{meeting_id}/recordings", self.meeting_recordings, methods=["GET"]
                ),
                Route("/rec/download/{file_id}", self.download, methods=["GET"]),
                Route("/rec/files/{file_id}", self.file, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> None:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        call = RecordedCall(
            request.method,
            request.scope.get("raw_path", b"").decode() or request.url.path,
            dict(request.query_params),
            body if isinstance(body, dict) else {"_json": body},
            request.headers.get("authorization", ""),
        )
        with self._lock:
            self.calls.append(call)
            stall = self.stall_seconds if self._take("stall_next") else 0.0
        if stall:
            await asyncio.sleep(stall)

    def _take(self, counter: str) -> bool:
        left: int = getattr(self, counter)
        if left > 0:
            setattr(self, counter, left - 1)
            return True
        return False

    async def _api_gate(self, request: Request) -> Response | None:
        """What every /v2 call goes through before its handler: failures, then auth."""
        await self._record(request)
        with self._lock:
            if self._take("fail_next"):
                return _zoom_error(
                    self.fail_status,
                    self.fail_status,
                    f"injected {self.fail_status}: the fake was told to fail",
                )
            if self._take("rate_limit_next"):
                response = _zoom_error(
                    429,
                    429,
                    "You have reached the maximum per-second rate limit for this API. "
                    "Try again later.",
                )
                response.headers["Retry-After"] = self.retry_after
                return response
        if not self._bearer_ok(request):
            return _zoom_error(401, 124, "Invalid access token.")
        return None

    def _bearer_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and self._token_ok(header.removeprefix("Bearer "))

    def _token_ok(self, token: str) -> bool:
        with self._lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.time() < expiry

    # OAuth

    async def oauth_token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1  # counted on arrival, even if told to stall
        await self._record(request)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        query = request.query_params
        if query.get("grant_type") != "account_credentials":
            return _oauth_error("unsupported_grant_type", "unsupported grant type")
        if not self._basic_ok(request.headers.get("authorization", "")):
            return _oauth_error("invalid_client", "Invalid client_id or client_secret")
        if query.get("account_id") != self.account_id:
            return _oauth_error("invalid_request", "Invalid account_id")
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = time.time() + self.expires_in
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "scope": "meeting:write:meeting:admin recording:read:admin",
                "api_url": self.url,
            }
        )

    def _basic_ok(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return hmac.compare_digest(header.encode(), f"Basic {expected}".encode())

    def revoke_tokens(self) -> None:
        """Every issued token stops working (as when Zoom rotates or the app is changed)."""
        with self._lock:
            self.tokens.clear()

    # meetings

    async def create_meeting(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        body = await request.json()
        problem = _meeting_problem(body)
        if problem:
            return _zoom_error(400, 300, problem)
        meeting_id = secrets.randbelow(9 * 10**10) + 10**10
        password = body.get("password", "")
        uuid, self.next_uuid = self.next_uuid or _uuid(), ""
        meeting = {
            "uuid": uuid,
            "id": meeting_id,
            "host_id": "hOsT1d" + request.path_params["user_id"],
            "host_email": "host@example.org",
            "topic": body.get("topic", "Zoom Meeting"),
            "type": body.get("type", 2),
            "status": "waiting",
            "start_time": body.get("start_time", ""),
            "duration": body.get("duration", 60),
            "timezone": body.get("timezone", ""),
            "agenda": body.get("agenda", ""),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "start_url": f"https://zoom.us/s/{meeting_id}?zak={secrets.token_urlsafe(24)}",
            "join_url": f"https://zoom.us/j/{meeting_id}?pwd={secrets.token_urlsafe(12)}",
            "password": password,
            "settings": dict(body.get("settings", {})),
            "pre_schedule": False,
        }
        with self._lock:
            self.meetings[meeting_id] = meeting
        return JSONResponse(meeting, status_code=201)

    def _find(self, raw_id: str) -> dict[str, Any] | None:
        if not raw_id.isdigit():
            return None
        with self._lock:
            return self.meetings.get(int(raw_id))

    async def meeting(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        raw_id = request.path_params["meeting_id"]
        meeting = self._find(raw_id)
        if meeting is None:
            return _zoom_error(404, 3001, f"Meeting does not exist: {raw_id}.")
        if request.method == "GET":
            return JSONResponse(meeting)
        if request.method == "DELETE":
            with self._lock:
                del self.meetings[meeting["id"]]
            return Response(status_code=204)
        body = await request.json()
        problem = _meeting_problem({**meeting, **body})
        if problem:
            return _zoom_error(400, 300, problem)
        with self._lock:
            settings = {**meeting["settings"], **body.pop("settings", {})}
            meeting.update(body, settings=settings)
        return Response(status_code=204)

    async def meeting_status(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        raw_id = request.path_params["meeting_id"]
        meeting = self._find(raw_id)
        if meeting is None:
            return _zoom_error(404, 3001, f"Meeting does not exist: {raw_id}.")
        action = (await request.json()).get("action")
        if action not in ("end", "recover"):
            return _zoom_error(400, 300, f"Invalid action: {action}.")
        with self._lock:
            meeting["status"] = "finished" if action == "end" else "waiting"
        return Response(status_code=204)

    # registrants and in-meeting controls

    async def add_registrant(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        raw_id = request.path_params["meeting_id"]
        meeting = self._find(raw_id)
        if meeting is None:
            return _zoom_error(404, 3001, f"Meeting does not exist: {raw_id}.")
        if meeting["settings"].get("approval_type", 2) not in (0, 1):
            return _zoom_error(400, 3000, "Registration has not been enabled for this meeting.")
        body = await request.json()
        email = str(body.get("email", "")).strip().lower()
        if "@" not in email or not str(body.get("first_name", "")).strip():
            return _zoom_error(400, 300, "Validation Failed: email and first_name are required.")
        with self._lock:
            known = self.registrants.setdefault(meeting["id"], {})
            if email not in known:
                tk = secrets.token_urlsafe(24)
                known[email] = {
                    "id": meeting["id"],
                    "registrant_id": secrets.token_urlsafe(16),
                    "topic": meeting["topic"],
                    "start_time": meeting["start_time"],
                    "join_url": f"https://zoom.us/w/{meeting['id']}?tk={tk}",
                    "participant_pin_code": secrets.randbelow(900000) + 100000,
                    "first_name": body["first_name"],
                    "last_name": body.get("last_name", ""),
                }
            registrant = dict(known[email])
        registrant.pop("first_name")
        registrant.pop("last_name")
        return JSONResponse(registrant, status_code=201)

    async def in_meeting(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        raw_id = request.path_params["meeting_id"]
        meeting = self._find(raw_id)
        if meeting is None:
            return _zoom_error(404, 3001, f"Meeting does not exist: {raw_id}.")
        method = (await request.json()).get("method")
        if method not in (
            "recording.start",
            "recording.stop",
            "recording.pause",
            "recording.resume",
        ):
            return _zoom_error(400, 300, f"Invalid method: {method}.")
        if meeting["status"] != "started":
            return _zoom_error(400, 3000, "The meeting is not in progress.")
        with self._lock:
            self.cloud_recording[meeting["id"]] = method
        return Response(status_code=202)

    def registrant(self, meeting_id: int, email: str) -> dict[str, Any] | None:
        with self._lock:
            return self.registrants.get(meeting_id, {}).get(email.lower())

    # recordings

    async def meeting_recordings(self, request: Request) -> Response:
        refused = await self._api_gate(request)
        if refused is not None:
            return refused
        # the path was decoded once already; a UUID is decoded once more
        wanted = unquote(request.path_params["meeting_id"])
        with self._lock:
            found = [r for r in self.recordings.values() if _names(r, wanted)]
        if not found:
            return _zoom_error(404, 3301, "This recording does not exist.")
        # a meeting id means its latest instance
        return JSONResponse(found[-1].info)

    def complete_recording(
        self, meeting_id: int, files: dict[str, bytes] | None = None
    ) -> dict[str, Any]:
        """The meeting's cloud recording is ready: its files are stored and the
        ``recording.completed`` event (with a ``download_token``) is answered."""
        with self._lock:
            meeting = self.meetings[meeting_id]
            contents = files or {"shared_screen_with_speaker_view": secrets.token_bytes(200_000)}
            recording = _Recording({}, secrets.token_urlsafe(32))
            recording_files = []
            for kind, content in contents.items():
                file_id = secrets.token_hex(12)
                recording.contents[file_id] = content
                recording_files.append(
                    {
                        "id": file_id,
                        "meeting_id": meeting["uuid"],
                        "recording_start": meeting["start_time"],
                        "recording_end": meeting["start_time"],
                        "file_type": "M4A" if kind == "audio_only" else "MP4",
                        "file_extension": "M4A" if kind == "audio_only" else "MP4",
                        "file_size": len(content),
                        "play_url": f"https://zoom.us/rec/play/{file_id}",
                        "download_url": f"{self.url}/rec/download/{file_id}",
                        "status": "completed",
                        "recording_type": kind,
                    }
                )
            recording.info = {
                "uuid": meeting["uuid"],
                "id": meeting_id,
                "account_id": self.account_id,
                "host_id": meeting["host_id"],
                "topic": meeting["topic"],
                "type": meeting["type"],
                "start_time": meeting["start_time"],
                "duration": meeting["duration"],
                "total_size": sum(len(c) for c in contents.values()),
                "recording_count": len(contents),
                "share_url": f"https://zoom.us/rec/share/{secrets.token_urlsafe(16)}",
                "recording_files": recording_files,
            }
            self.recordings[meeting["uuid"]] = recording
        return self.event(
            "recording.completed", recording.info, download_token=recording.download_token
        )

    def _recording_of_file(self, file_id: str) -> _Recording | None:
        with self._lock:
            for recording in self.recordings.values():
                if file_id in recording.contents:
                    return recording
        return None

    async def download(self, request: Request) -> Response:
        await self._record(request)
        file_id = request.path_params["file_id"]
        recording = self._recording_of_file(file_id)
        if recording is None:
            return _zoom_error(404, 3301, "This recording does not exist.")
        given = request.query_params.get("access_token", "")
        webhook_token = self.download_tokens_valid and given == recording.download_token
        allowed = self._bearer_ok(request) or (
            bool(given) and (webhook_token or self._token_ok(given))
        )
        if not allowed:
            return _zoom_error(401, 124, "Invalid access token.")
        # Zoom sends the client on to the file's storage with a signed link
        signature = hmac.new(self.webhook_secret.encode(), file_id.encode(), "sha256").hexdigest()
        return RedirectResponse(f"/rec/files/{file_id}?signature={signature}", status_code=302)

    async def file(self, request: Request) -> Response:
        await self._record(request)
        file_id = request.path_params["file_id"]
        signature = hmac.new(self.webhook_secret.encode(), file_id.encode(), "sha256").hexdigest()
        recording = self._recording_of_file(file_id)
        if recording is None or request.query_params.get("signature") != signature:
            return Response("Forbidden", status_code=403)
        content = recording.contents[file_id]
        with self._lock:
            if self._take("short_downloads"):
                content = content[: len(content) // 2]
        return Response(content, media_type="video/mp4")

    # webhooks, as Zoom sends them

    def event(self, name: str, meeting_object: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "event": name,
            "event_ts": int(time.time() * 1000),
            "payload": {"account_id": self.account_id, "object": meeting_object},
            **extra,
        }

    def meeting_event(self, name: str, meeting_id: int, **fields: Any) -> dict[str, Any]:
        """``meeting.started`` / ``meeting.ended`` for one of the fake's meetings."""
        with self._lock:
            self.meetings[meeting_id]["status"] = (
                "started" if name == "meeting.started" else "finished"
            )
        return self.event(name, {**self._instance(meeting_id), **fields})

    def _instance(self, meeting_id: int) -> dict[str, Any]:
        """A meeting as webhook objects describe it."""
        with self._lock:
            meeting = self.meetings[meeting_id]
            instance = {
                key: meeting[key]
                for key in ("uuid", "host_id", "topic", "type", "start_time", "timezone")
            }
        instance["id"] = str(meeting_id)  # webhooks send the id as a string
        instance["duration"] = meeting["duration"]
        return instance

    def participant_event(
        self, name: str, meeting_id: int, *, user_name: str, user_id: str, at: str, **fields: Any
    ) -> dict[str, Any]:
        """``meeting.participant_joined`` / ``_left`` (``at`` is join_time or leave_time)."""
        time_field = "join_time" if name.endswith("joined") else "leave_time"
        registered = self.registrant(meeting_id, str(fields.get("email", "")))
        if registered is not None:
            fields.setdefault("registrant_id", registered["registrant_id"])
        participant = {
            "user_id": user_id,
            "user_name": user_name,
            "id": "",
            "participant_uuid": fields.pop("participant_uuid", f"uuid-{user_id}"),
            time_field: at,
            "email": fields.pop("email", ""),
            **fields,
        }
        return self.event(name, {**self._instance(meeting_id), "participant": participant})

    def sign(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> SignedWebhook:
        body = json.dumps(event, separators=(",", ":")).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: f"v0={digest}",
            TIMESTAMP_HEADER: ts,
        }
        return SignedWebhook(body, headers)

    def url_validation(self) -> tuple[SignedWebhook, str]:
        """A signed ``endpoint.url_validation`` challenge and its plainToken."""
        plain = secrets.token_urlsafe(16)
        event = {
            "payload": {"plainToken": plain},
            "event_ts": int(time.time() * 1000),
            "event": "endpoint.url_validation",
        }
        return self.sign(event), plain

    async def validate_endpoint(self, url: str) -> bool:
        """Zoom's challenge against ``url``: true when it answers 200 with the plainToken
        and its HMAC, as Zoom requires before it sends any event."""
        challenge, plain = self.url_validation()
        async with httpx.AsyncClient(timeout=3.0) as http:
            response = await http.post(url, content=challenge.body, headers=challenge.headers)
        if response.status_code != 200:
            return False
        expected = hmac.new(self.webhook_secret.encode(), plain.encode(), "sha256").hexdigest()
        answer = response.json()
        return isinstance(answer, dict) and answer == {
            "plainToken": plain,
            "encryptedToken": expected,
        }

    def calls_to(self, method: str, path_prefix: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]


def _names(recording: _Recording, wanted: str) -> bool:
    return wanted in (recording.info["uuid"], str(recording.info["id"]))


def _meeting_problem(body: dict[str, Any]) -> str:
    """Zoom's validation of a meeting body, for the fields liveclass sends."""
    if len(str(body.get("topic", ""))) > 200:
        return "Topic can not exceed 200 characters."
    password = str(body.get("password", ""))
    if len(password) > 10:
        return "Password must be less than or equal to 10 characters."
    if body.get("type", 2) == 2 and not body.get("start_time"):
        return "start_time is required for a scheduled meeting."
    duration = body.get("duration", 60)
    if not isinstance(duration, int) or duration <= 0:
        return "Invalid field: duration."
    recording = body.get("settings", {}).get("auto_recording", "none")
    if recording not in ("cloud", "local", "none"):
        return "Invalid field: settings.auto_recording."
    return ""


@dataclass
class FakeZoomServer:
    fake: FakeZoom
    server: LoopbackApp

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/v2"


@contextmanager
def serve_fake_zoom(
    *,
    account_id: str = "acct-fake",
    client_id: str = "client-fake",
    client_secret: str | None = None,
    webhook_secret: str | None = None,
    expires_in: int = 3600,
) -> Iterator[FakeZoomServer]:
    fake = FakeZoom(
        account_id=account_id,
        client_id=client_id,
        client_secret=client_secret or secrets.token_urlsafe(24),
        webhook_secret=webhook_secret or secrets.token_urlsafe(24),
        expires_in=expires_in,
    )
    server = LoopbackApp(fake.app(), "fake Zoom")
    fake.url = server.url
    server.start()
    try:
        yield FakeZoomServer(fake, server)
    finally:
        server.stop()
