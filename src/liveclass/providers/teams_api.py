"""Microsoft Graph as liveclass uses it for Teams: online meetings of one organizer and
their attendance reports, over httpx with an app-only (client credentials) token.

Tokens: ``POST {login_url}/{tenant}/oauth2/v2.0/token`` with the form ``client_id,
client_secret, scope=https://graph.microsoft.com/.default, grant_type=client_credentials``
answers ``{access_token, expires_in, token_type}``; refusals are ``{error,
error_description, error_codes, ...}`` (``invalid_client`` for a wrong secret). Cached by
``providers.access_tokens``.

Calls (``{graph_url}`` = ``https://graph.microsoft.com/v1.0``), all under
``/users/{organizer}/onlineMeetings``: ``POST`` (201, the meeting), ``PATCH /{id}`` (200, the
meeting), ``DELETE /{id}`` (204), ``GET /{id}/attendanceReports`` and
``GET /{id}/attendanceReports/{report}/attendanceRecords`` (``{value: [...]}``, further
pages by ``@odata.nextLink``). The app needs the application permission
``OnlineMeetings.ReadWrite.All`` (``OnlineMeetingArtifact.Read.All`` for the reports) and a
tenant admin's application access policy granted to the organizer.

Graph's errors are ``{error: {code, message}}``. Failures as in ``providers.errors``: down,
timed out, 5xx, or rate limited (429) past one bounded ``Retry-After`` wait ->
``ProviderUnavailable``; any other refusal -> ``ProviderError`` with Graph's status, code
and message. A 401 drops the token and the call is tried once more with a new one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from liveclass.providers.access_tokens import AccessTokens, Clock, IssuedToken, request_token
from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.json_fields import submessage, submessages, text
from liveclass.providers.transport import (
    DEFAULT_TIMEOUT,
    ProviderTransport,
    error_object,
    json_answer,
)

TEAMS_GRAPH_URL = "https://graph.microsoft.com/v1.0"
TEAMS_LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PROVIDER = "Microsoft Teams"
MAX_PAGES = 50  # a report lists a class's people; a runaway pager is a bug, not data


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    tenant_id: str
    client_id: str
    client_secret: str

    def form(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": GRAPH_SCOPE,
            "grant_type": "client_credentials",
        }


class TeamsTokenSource(AccessTokens):
    """App-only Graph tokens of one app registration in one tenant, cached and shared."""

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        http: httpx.AsyncClient,
        login_url: str = TEAMS_LOGIN_URL,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(self._request, clock=clock)
        tenant = quote(credentials.tenant_id, safe="")
        self.token_url = f"{login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self._credentials = credentials
        self._http = http
        self._timeout = httpx.Timeout(timeout)

    async def _request(self) -> IssuedToken:
        return await request_token(
            self._http,
            PROVIDER,
            self.token_url,
            limit=self._timeout,
            data=self._credentials.form(),
        )


@dataclass(frozen=True, slots=True)
class OnlineMeeting:
    id: str
    join_web_url: str
    subject: str
    start: str
    end: str

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> OnlineMeeting:
        return cls(
            id=text(message, "id"),
            join_web_url=text(message, "joinWebUrl"),
            subject=text(message, "subject"),
            start=text(message, "startDateTime"),
            end=text(message, "endDateTime"),
        )


@dataclass(frozen=True, slots=True)
class AttendanceInterval:
    join: str
    leave: str  # "" while the person is still in the meeting

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> AttendanceInterval:
        return cls(text(message, "joinDateTime"), text(message, "leaveDateTime"))


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    """One person in one attendance report: who Graph says they were, and when."""

    id: str
    display_name: str
    email: str
    identity_id: str  # the Entra user id of a signed-in user; "" for guests
    role: str  # Organizer, Presenter, Attendee
    intervals: tuple[AttendanceInterval, ...]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> AttendanceRecord:
        identity = submessage(message, "identity")
        return cls(
            id=text(message, "id"),
            display_name=text(identity, "displayName"),
            email=text(message, "emailAddress"),
            identity_id=text(identity, "id"),
            role=text(message, "role"),
            intervals=tuple(
                AttendanceInterval.parse(i) for i in submessages(message, "attendanceIntervals")
            ),
        )


class GraphClient:
    """The online meeting calls of one organizer."""

    def __init__(
        self,
        graph_url: str = TEAMS_GRAPH_URL,
        *,
        organizer: str,
        tokens: AccessTokens,
        transport: ProviderTransport,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.meetings_path = f"/users/{quote(organizer, safe='@')}/onlineMeetings"
        self.tokens = tokens
        self.transport = transport

    # meetings

    async def create_meeting(self, body: Mapping[str, Any]) -> OnlineMeeting:
        return OnlineMeeting.parse(await self.request("POST", self.meetings_path, body=body))

    async def update_meeting(self, meeting_id: str, body: Mapping[str, Any]) -> OnlineMeeting:
        reply = await self.request("PATCH", self._meeting(meeting_id), body=body)
        return OnlineMeeting.parse(reply)

    async def delete_meeting(self, meeting_id: str) -> None:
        await self.request("DELETE", self._meeting(meeting_id))

    # attendance

    async def attendance_reports(self, meeting_id: str) -> list[str]:
        """The ids of the meeting's attendance reports (one per time people met in it;
        Graph keeps the 50 most recent)."""
        items = await self._pages(f"{self._meeting(meeting_id)}/attendanceReports")
        return [text(item, "id") for item in items if text(item, "id")]

    async def attendance_records(self, meeting_id: str, report_id: str) -> list[AttendanceRecord]:
        path = f"{self._meeting(meeting_id)}/attendanceReports/{quote(report_id, safe='')}"
        items = await self._pages(f"{path}/attendanceRecords")
        return [AttendanceRecord.parse(item) for item in items]

    def _meeting(self, meeting_id: str) -> str:
        return f"{self.meetings_path}/{quote(meeting_id, safe='')}"

    async def _pages(self, path: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        url = f"{self.graph_url}{path}"
        for _ in range(MAX_PAGES):
            reply = await self.request("GET", url)
            found.extend(submessages(reply, "value"))
            url = text(reply, "@odata.nextLink")
            if not url:
                return found
        raise ProviderUnavailable(PROVIDER, f"{path} pages past {MAX_PAGES}")

    # the wire

    async def request(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One call (``path`` under the Graph URL, or a whole ``@odata.nextLink``) with a
        Bearer token, renewed once on a 401; Graph's JSON answer ({} for a 204)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.graph_url}{path}"
        response = await self.tokens.authorized(lambda token: self._send(method, url, body, token))
        if response.status_code >= 300:
            raise refusal(response)
        return json_answer(PROVIDER, response, f"{method} {path}")

    async def _send(
        self, method: str, url: str, body: Mapping[str, Any] | None, token: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return await self.transport.send(
            method, url, json=dict(body) if body is not None else None, headers=headers
        )


def refusal(response: httpx.Response) -> ProviderError:
    error = error_object(response)
    code = text(error, "code") or str(response.status_code)
    message = text(error, "message") or response.text[:200].strip()
    return ProviderError(PROVIDER, response.status_code, code, message)
