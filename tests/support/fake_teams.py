"""A stand-in for Microsoft's identity platform and Graph's online meetings, on 127.0.0.1,
following Microsoft's documents:

- ``POST /{tenant}/oauth2/v2.0/token`` (form ``client_id, client_secret, scope,
  grant_type=client_credentials``) answers ``{token_type, expires_in, ext_expires_in,
  access_token}``; a wrong secret ``401 invalid_client``, an unknown tenant
  ``400 invalid_request``, another grant or scope ``400`` (``{error, error_description,
  error_codes, timestamp, trace_id, correlation_id}``).
- ``/v1.0/users/{organizer}/onlineMeetings`` with ``Authorization: Bearer``: ``POST`` (201,
  the meeting: ``id``, ``joinWebUrl``, ``subject``, ``startDateTime``, ``endDateTime``,
  ``lobbyBypassSettings``, ``recordAutomatically``, ``joinMeetingIdSettings``, ...),
  ``GET``/``PATCH`` ``/{id}`` (200), ``DELETE /{id}`` (204), ``GET /{id}/attendanceReports``
  and ``.../attendanceReports/{rid}/attendanceRecords`` (``{value}``, paged by
  ``@odata.nextLink``). Errors are ``{error: {code, message, innerError}}``: 401
  ``InvalidAuthenticationToken``, 403 when the organizer has no application access policy,
  404 ``NotFound``; ``fail_next`` injects failures (429 with ``Retry-After``).
- ``notification(...)``: a change notification (``{value: [{subscriptionId, clientState,
  changeType, resource, subscriptionExpirationDateTime, resourceData, tenantId}]}``) for
  a meeting's ``meetingCallEvents``, the resource naming its URL-encoded join link. Graph's
  basic notifications carry no call event since 2024 and its rich ones are encrypted; the
  fake puts the event in clear in ``resourceData.eventType`` (``callStarted`` /
  ``callEnded``) with ``eventDateTime``: that shape is the fake's, not Graph's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

SCOPE = "https://graph.microsoft.com/.default"
ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "NotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class FakeTeams:
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    organizer: str = "teacher@contoso.example"
    organizer_oid: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_state: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    access_policy: bool = True  # the tenant admin granted the app's policy to the organizer
    expires_in: int = 3599
    token_delay: float = 0.0
    page_size: int = 2  # records per page, so readers follow @odata.nextLink
    calls: list[Call] = field(default_factory=list)
    token_requests: int = 0
    tokens: set[str] = field(default_factory=set)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by meeting id
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by report id
    fail_next: int = 0
    fail_status: int = 503
    without_join_url: bool = False  # a created meeting answered without its joinWebUrl
    retry_after: str | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    # the identity platform

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        with self._lock:
            self.token_requests += 1
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if request.path_params["tenant"] != self.tenant_id:
            return _login_error(400, "invalid_request", 90002, "Tenant not found.")
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            return _login_error(400, "invalid_request", 70011, "The provided scope is invalid.")
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return _login_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        value = f"eyJ0eXAiOiJKV1Qi.{secrets.token_urlsafe(32)}"
        self.tokens.add(value)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "ext_expires_in": self.expires_in,
                "access_token": value,
            }
        )

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # Graph

    async def handle(self, request: Request) -> Response:
        # segments from the raw path: an id may hold an encoded "/" (Graph's ids are base64)
        raw_path = request.scope["raw_path"].decode().removeprefix("/v1.0")
        parts = [unquote(part) for part in raw_path.strip("/").split("/")]
        path = "/" + "/".join(parts)
        raw = await request.body()
        body = json.loads(raw) if raw else None
        auth = request.headers.get("authorization", "")
        query = dict(request.query_params)
        self.calls.append(Call(request.method, path, query, body, auth))
        if self.fail_next > 0:
            self.fail_next -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return _error(self.fail_status, "injected failure", headers)
        if auth.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "Access token validation failure. Invalid audience.")
        return self._route(request.method, parts, query, body)

    def calls_to(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> Response:
        path = "/" + "/".join(parts)
        if len(parts) < 3 or parts[0] != "users" or parts[2] != "onlineMeetings":
            return _error(400, f"Resource not found for the segment '{parts[0]}'.")
        if parts[1] != self.organizer:
            return _error(404, "The requested user is invalid.")
        if not self.access_policy:
            return _error(403, "No application access policy found for this app.")
        rest = parts[3:]
        if not rest:
            if method == "POST":
                return JSONResponse(self._create(body or {}), status_code=201)
            return _error(405, "The OData request is not supported.")
        meeting = self.meetings.get(rest[0])
        if meeting is None:
            return _error(404, "The specified meeting was not found.")
        if len(rest) == 1:
            return self._meeting(method, rest[0], meeting, body)
        if method == "GET" and rest[1:] == ["attendanceReports"]:
            return JSONResponse({"value": self.reports.get(rest[0], [])})
        if method == "GET" and len(rest) == 4 and rest[1] == "attendanceReports":
            return self._records(rest[0], rest[2], query)
        return _error(400, f"Unsupported request {method} {path}.")

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        thread = f"19:meeting_{secrets.token_urlsafe(36)}@thread.v2"
        meeting_id = base64.b64encode(f"1*{self.organizer_oid}*0**{thread}".encode()).decode()
        context = quote(json.dumps({"Tid": self.tenant_id, "Oid": self.organizer_oid}), safe="")
        join = (
            f"https://teams.microsoft.com/l/meetup-join/{quote(thread, safe='')}/0"
            f"?context={context}"
        )
        meeting = {
            "id": meeting_id,
            "creationDateTime": _iso(time.time()),
            "startDateTime": body.get("startDateTime"),
            "endDateTime": body.get("endDateTime"),
            "joinWebUrl": join,
            "subject": body.get("subject"),
            "lobbyBypassSettings": body.get(
                "lobbyBypassSettings", {"scope": "organization", "isDialInBypassEnabled": False}
            ),
            "recordAutomatically": bool(body.get("recordAutomatically", False)),
            "allowedPresenters": "everyone",
            "chatInfo": {"threadId": thread, "messageId": "0"},
            "joinMeetingIdSettings": {
                "joinMeetingId": str(secrets.randbelow(10**12)),
                "passcode": secrets.token_hex(3),
                "isPasscodeRequired": False,
            },
            "participants": {
                "organizer": {
                    "upn": self.organizer,
                    "role": "presenter",
                    "identity": {"user": {"id": self.organizer_oid}},
                },
                "attendees": [],
            },
        }
        self.meetings[meeting_id] = meeting
        if self.without_join_url:
            return {k: v for k, v in meeting.items() if k != "joinWebUrl"}
        return meeting

    def _meeting(
        self, method: str, meeting_id: str, meeting: dict[str, Any], body: Any
    ) -> Response:
        if method == "GET":
            return JSONResponse(meeting)
        if method == "PATCH":
            meeting.update(body or {})
            return JSONResponse(meeting)
        if method == "DELETE":
            del self.meetings[meeting_id]
            return Response(status_code=204)
        return _error(405, "The OData request is not supported.")

    def _records(self, meeting_id: str, report_id: str, query: dict[str, str]) -> Response:
        known = {r["id"] for r in self.reports.get(meeting_id, [])}
        if report_id not in known:
            return _error(404, "The attendance report was not found.")
        start = int(query.get("$skiptoken", "0"))
        records = self.records.get(report_id, [])
        reply: dict[str, Any] = {"value": records[start : start + self.page_size]}
        if start + self.page_size < len(records):
            following = start + self.page_size
            meeting = quote(meeting_id, safe="")
            reply["@odata.nextLink"] = (
                f"{self.url}/v1.0/users/{self.organizer}/onlineMeetings/{meeting}"
                f"/attendanceReports/{report_id}/attendanceRecords?$skiptoken={following}"
            )
        return JSONResponse(reply)

    # what happened in a meeting (the test drives it)

    def report(self, meeting_id: str, start: float, end: float) -> str:
        """One attendance report (one time people met); answers its id."""
        report_id = str(uuid.uuid4())
        self.reports.setdefault(meeting_id, []).append(
            {
                "id": report_id,
                "totalParticipantCount": 0,
                "meetingStartDateTime": _iso(start),
                "meetingEndDateTime": _iso(end),
            }
        )
        return report_id

    def attend(
        self,
        meeting_id: str,
        report_id: str,
        display_name: str,
        intervals: list[tuple[float, float | None]],
        *,
        email: str = "",
        role: str = "Attendee",
        user_id: str | None = None,
    ) -> None:
        """A person's record in a report: their intervals (leave None: still there)."""
        spans = [
            {
                "joinDateTime": _iso(join),
                **({"leaveDateTime": _iso(leave)} if leave is not None else {}),
                "durationInSeconds": int((leave or time.time()) - join),
            }
            for join, leave in intervals
        ]
        self.records.setdefault(report_id, []).append(
            {
                "id": user_id or str(uuid.uuid4()),
                "emailAddress": email,
                "totalAttendanceInSeconds": sum(s["durationInSeconds"] for s in spans),
                "role": role,
                "identity": {"id": user_id or "", "displayName": display_name, "tenantId": None},
                "attendanceIntervals": spans,
            }
        )
        for report in self.reports[meeting_id]:
            if report["id"] == report_id:
                report["totalParticipantCount"] += 1

    # change notifications

    def notification(
        self,
        meeting_id: str,
        event_type: str,
        at: float,
        *,
        client_state: str | None = None,
        expires: float | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        join = quote(self.meetings[meeting_id]["joinWebUrl"], safe="")
        expiry = time.time() + 3600 if expires is None else expires
        item = {
            "subscriptionId": str(uuid.uuid4()),
            "clientState": self.client_state if client_state is None else client_state,
            "changeType": "updated",
            "resource": f"communications/onlineMeetings(joinWebUrl='{join}')/meetingCallEvents",
            "subscriptionExpirationDateTime": _iso(expiry),
            "resourceData": {
                "@odata.type": "#microsoft.graph.meetingCallEvent",
                "eventType": event_type,
                "eventDateTime": _iso(at),
            },
            "tenantId": self.tenant_id,
        }
        body = json.dumps({"value": [item]}).encode()
        return body, {"Content-Type": "application/json"}


def _iso(at: float) -> str:
    # Graph writes seven fractional digits
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e7):07d}Z"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    inner = {"date": _iso(time.time())[:19], "request-id": str(uuid.uuid4())}
    return JSONResponse(
        {
            "error": {
                "code": ERROR_CODES.get(status, "UnknownError"),
                "message": message,
                "innerError": inner,
            }
        },
        status_code=status,
        headers=headers,
    )


def _login_error(status: int, error: str, code: int, description: str) -> Response:
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": _iso(time.time())[:19] + "Z",
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status_code=status,
    )


@contextmanager
def serve_fake_teams() -> Iterator[FakeTeams]:
    fake = FakeTeams()
    app = Starlette(
        routes=[
            Route("/{tenant}/oauth2/v2.0/token", fake.token, methods=["POST"]),
            Route("/v1.0/{path:path}", fake.handle, methods=["GET", "POST", "PATCH", "DELETE"]),
        ]
    )
    server = LoopbackApp(app, "fake Microsoft Graph")
    fake.url = server.url
    server.start()
    try:
        yield fake
    finally:
        server.stop()
