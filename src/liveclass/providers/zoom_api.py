"""Zoom's REST API as liveclass uses it, over httpx, with Server-to-Server OAuth.

Tokens: ``POST {oauth_url}?grant_type=account_credentials&account_id=...`` with
``Authorization: Basic base64(client_id:client_secret)`` answers ``{access_token,
expires_in, ...}`` and no refresh token. ``ZoomTokenSource`` (the token cache of
``providers.access_tokens``) keeps one token until shortly before it expires and fetches
the next under a lock, so any number of concurrent calls cost one token request (and share
its failure); a 401 from the API drops that token and the call is tried once more.

Calls (``{api_url}`` = ``https://api.zoom.us/v2``): create a scheduled meeting, update it
(PATCH), end it (PUT ``/meetings/{id}/status``), delete it, read its cloud recordings, and
download a recording file (streamed). Zoom's errors are ``{code, message}``; its OAuth
endpoint's are ``{reason, error}``. Failures are split as in ``providers.errors``: down, timed
out, 5xx or still rate limited after one bounded wait -> ``ProviderUnavailable``; any other
refusal -> ``ProviderError`` with Zoom's status, code and message.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import enum
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from liveclass.domain.errors import Invalid
from liveclass.providers.access_tokens import (
    AccessTokens,
    Clock,
    IssuedToken,
    request_token,
)
from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.json_fields import integer, submessages, text
from liveclass.providers.transport import error_body, json_object, retry_after_seconds

ZOOM_API_URL = "https://api.zoom.us/v2"
ZOOM_OAUTH_URL = "https://zoom.us/oauth/token"  # the token endpoint itself
PROVIDER = "Zoom"
DEFAULT_TIMEOUT = 10.0
# The longest Retry-After we sit out inside one call; a longer one (Zoom's daily limits say
# "tomorrow") fails at once as unavailable rather than holding a request open.
MAX_RETRY_AFTER = 10.0
MAX_TOPIC = 200
MAX_PASSWORD = 10
# Zoom's meeting passcode alphabet.
_PASSWORD = re.compile(r"[A-Za-z0-9@\-_*]{1,10}")

Sink = Callable[[bytes], Awaitable[None]]


class AutoRecording(enum.StrEnum):
    CLOUD = "cloud"
    LOCAL = "local"
    NONE = "none"


# tokens


class ZoomTokenSource(AccessTokens):
    """Server-to-Server OAuth access tokens for one Zoom account, cached and shared."""

    def __init__(
        self,
        oauth_url: str = ZOOM_OAUTH_URL,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(self._request, clock=clock)
        self.oauth_url = oauth_url.rstrip("/")
        self._account_id = account_id
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._authorization = f"Basic {basic}"
        self._http = http
        self._timeout = httpx.Timeout(timeout)

    async def _request(self) -> IssuedToken:
        return await request_token(
            self._http,
            PROVIDER,
            self.oauth_url,
            limit=self._timeout,
            params={"grant_type": "account_credentials", "account_id": self._account_id},
            headers={"Authorization": self._authorization},
        )


# meetings


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    """A scheduled class as a Zoom meeting (``type`` 2). Times go to Zoom in UTC."""

    topic: str
    start_time: datetime.datetime
    duration_minutes: int
    password: str = ""
    waiting_room: bool = True
    join_before_host: bool = False
    auto_recording: AutoRecording = AutoRecording.NONE
    agenda: str = ""

    def __post_init__(self) -> None:
        if not self.topic.strip() or len(self.topic) > MAX_TOPIC:
            raise Invalid(f"A Zoom topic has 1 to {MAX_TOPIC} characters.", field="topic")
        if self.start_time.tzinfo is None:
            raise Invalid("The start time needs a time zone.", field="start_time")
        if self.duration_minutes <= 0:
            raise Invalid("The duration must be positive.", field="duration_minutes")
        if self.password and not _PASSWORD.fullmatch(self.password):
            raise Invalid(
                f"A Zoom passcode has at most {MAX_PASSWORD} letters, digits or @-_*.",
                field="password",
            )

    def to_body(self) -> dict[str, Any]:
        start = self.start_time.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, Any] = {
            "topic": self.topic,
            "type": 2,
            "start_time": start,
            "duration": self.duration_minutes,
            "timezone": "UTC",
            "settings": {
                "waiting_room": self.waiting_room,
                "join_before_host": self.join_before_host,
                "auto_recording": self.auto_recording.value,
            },
        }
        if self.password:
            body["password"] = self.password
        if self.agenda:
            body["agenda"] = self.agenda
        return body


@dataclass(frozen=True, slots=True)
class ZoomMeeting:
    """What Zoom answers for a meeting. ``start_url`` is the host's (it logs in as the host);
    ``join_url`` is everyone else's."""

    id: int
    uuid: str
    host_id: str
    topic: str
    start_time: str
    duration: int
    join_url: str
    start_url: str
    password: str
    status: str

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> ZoomMeeting:
        return cls(
            id=integer(message, "id"),
            uuid=text(message, "uuid"),
            host_id=text(message, "host_id"),
            topic=text(message, "topic"),
            start_time=text(message, "start_time"),
            duration=integer(message, "duration"),
            join_url=text(message, "join_url"),
            start_url=text(message, "start_url"),
            password=text(message, "password"),
            status=text(message, "status"),
        )


@dataclass(frozen=True, slots=True)
class RecordingFile:
    id: str
    file_type: str  # MP4, M4A, CHAT, TRANSCRIPT, ...
    file_extension: str
    file_size: int
    recording_type: str  # shared_screen_with_speaker_view, audio_only, ...
    status: str  # completed, processing
    download_url: str
    recording_start: str
    recording_end: str

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> RecordingFile:
        return cls(
            id=text(message, "id"),
            file_type=text(message, "file_type"),
            file_extension=text(message, "file_extension"),
            file_size=integer(message, "file_size"),
            recording_type=text(message, "recording_type"),
            status=text(message, "status"),
            download_url=text(message, "download_url"),
            recording_start=text(message, "recording_start"),
            recording_end=text(message, "recording_end"),
        )


@dataclass(frozen=True, slots=True)
class MeetingRecordings:
    """One meeting instance's cloud recording (``GET /meetings/{id}/recordings``, or the
    ``object`` of a ``recording.completed`` webhook)."""

    meeting_id: int
    uuid: str
    topic: str
    total_size: int
    files: tuple[RecordingFile, ...]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> MeetingRecordings:
        return cls(
            meeting_id=integer(message, "id"),
            uuid=text(message, "uuid"),
            topic=text(message, "topic"),
            total_size=integer(message, "total_size"),
            files=tuple(RecordingFile.parse(f) for f in submessages(message, "recording_files")),
        )

    def videos(self) -> tuple[RecordingFile, ...]:
        """The finished MP4 files, the ones liveclass keeps as the class recording."""
        return tuple(f for f in self.files if f.file_type == "MP4" and f.status == "completed")


def meeting_path_id(meeting: int | str) -> str:
    """A meeting id or UUID as a path segment. Zoom asks for a UUID that starts with ``/``
    or contains ``//`` to be URL-encoded twice; any other UUID once."""
    if isinstance(meeting, int):
        return str(meeting)
    once = quote(meeting, safe="")
    if meeting.startswith("/") or "//" in meeting:
        return quote(once, safe="")
    return once


class ZoomClient:
    """The meeting and recording calls of one Zoom account."""

    def __init__(
        self,
        api_url: str = ZOOM_API_URL,
        *,
        tokens: ZoomTokenSource,
        http: httpx.AsyncClient,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.tokens = tokens
        self._http = http
        self._timeout = httpx.Timeout(timeout)
        self._max_retry_after = max_retry_after

    async def create_meeting(self, spec: MeetingSpec, *, user_id: str = "me") -> ZoomMeeting:
        path = f"/users/{quote(user_id, safe='@')}/meetings"
        response = await self.request("POST", path, body=spec.to_body())
        return ZoomMeeting.parse(json_object(PROVIDER, response, "create meeting"))

    async def get_meeting(self, meeting_id: int) -> ZoomMeeting:
        response = await self.request("GET", f"/meetings/{meeting_id}")
        return ZoomMeeting.parse(json_object(PROVIDER, response, "get meeting"))

    async def update_meeting(self, meeting_id: int, spec: MeetingSpec) -> None:
        """Reschedule or rename: Zoom answers 204 and no body."""
        await self.request("PATCH", f"/meetings/{meeting_id}", body=spec.to_body())

    async def end_meeting(self, meeting_id: int) -> None:
        """End the meeting for everyone in it now."""
        await self.request("PUT", f"/meetings/{meeting_id}/status", body={"action": "end"})

    async def delete_meeting(self, meeting_id: int) -> None:
        await self.request("DELETE", f"/meetings/{meeting_id}")

    async def meeting_recordings(self, meeting: int | str) -> MeetingRecordings:
        """The cloud recording of a meeting id (its latest instance) or of one instance UUID."""
        response = await self.request("GET", f"/meetings/{meeting_path_id(meeting)}/recordings")
        return MeetingRecordings.parse(json_object(PROVIDER, response, "meeting recordings"))

    async def download_recording(
        self,
        download_url: str,
        write: Sink,
        *,
        download_token: str = "",
        expected_size: int = 0,
    ) -> int:
        """Stream one recording file into ``write`` chunk by chunk; answer the byte count.

        With the ``download_token`` of a ``recording.completed`` webhook the file is fetched
        as ``?access_token=<download_token>``; without it, with the account's Bearer token.
        A file shorter or longer than ``expected_size`` (when known) is an incomplete
        download: ``ProviderUnavailable``, so the caller retries. After any failure
        ``write`` may have had part of the file: a retry starts the file over.
        """
        if download_token:
            written = await self._download(download_url, write, {"access_token": download_token})
        else:
            written = await self._download_with_bearer(download_url, write)
        if expected_size and written != expected_size:
            raise ProviderUnavailable(
                PROVIDER, f"the recording download gave {written} of {expected_size} bytes"
            )
        return written

    async def _download_with_bearer(self, url: str, write: Sink) -> int:
        token = await self.tokens.token()
        try:
            return await self._download(url, write, {}, token)
        except ProviderError as exc:
            if exc.provider_status != 401:
                raise
        self.tokens.invalidate(token)
        return await self._download(url, write, {}, await self.tokens.token())

    async def _download(
        self, url: str, write: Sink, params: Mapping[str, str], token: str = ""
    ) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        written = 0
        try:
            # Zoom redirects a download_url to the file's storage
            async with self._http.stream(
                "GET",
                url,
                params=dict(params),
                headers=headers,
                timeout=self._timeout,
                follow_redirects=True,
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._refusal("download", response)
                async for chunk in response.aiter_bytes():
                    await write(chunk)
                    written += len(chunk)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"download: {_failure(exc)}") from exc
        return written

    # the wire

    async def request(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """One API call: Bearer token (renewed once on a 401), one wait on a 429."""
        response = await self._authorized(method, path, body)
        if response.status_code == 429:
            await asyncio.sleep(self._retry_after(response))
            response = await self._authorized(method, path, body)
        if response.status_code >= 300:
            raise self._refusal(f"{method} {path}", response)
        return response

    async def _authorized(
        self, method: str, path: str, body: Mapping[str, Any] | None
    ) -> httpx.Response:
        return await self.tokens.authorized(lambda token: self._send(method, path, body, token))

    async def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, token: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            return await self._http.request(
                method,
                f"{self.api_url}{path}",
                json=dict(body) if body is not None else None,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"{method} {path}: {_failure(exc)}") from exc

    def _retry_after(self, response: httpx.Response) -> float:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None or wait > self._max_retry_after:
            shown = "no Retry-After" if wait is None else f"Retry-After {wait:.0f} s"
            raise ProviderUnavailable(PROVIDER, f"rate limited ({shown})")
        return wait

    @staticmethod
    def _refusal(what: str, response: httpx.Response) -> ProviderError | ProviderUnavailable:
        status = response.status_code
        error = error_body(response)
        code = text(error, "code") or str(status)
        message = text(error, "message") or response.text[:200].strip()
        if status >= 500 or status == 429:
            return ProviderUnavailable(PROVIDER, f"{what}: {status} {code}: {message}")
        return ProviderError(PROVIDER, status, code, message)


def _failure(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"unreachable ({type(exc).__name__})"
