"""The Google Meet REST API (v2) as liveclass uses it, over httpx with a Google OAuth token.

Calls (``{api_url}`` = ``https://meet.googleapis.com/v2``): ``POST /spaces`` (body
``{config: {accessType, artifactConfig: {recordingConfig: {autoRecordingGeneration}}}}``),
``GET`` and ``PATCH /spaces/{id}`` (``updateMask``), ``POST /spaces/{id}:endActiveConference``;
``GET /conferenceRecords?filter=space.name="spaces/{id}"`` and, under a record,
``participants``, ``participants/{p}/participantSessions``, ``recordings`` and
``transcripts`` (each paged with ``pageToken`` / ``nextPageToken``).

Google's errors are ``{error: {code, message, status}}``. Down, timed out, 5xx or still
rate limited after one bounded wait -> ``ProviderUnavailable`` (``ProviderTransport``); any
other refusal -> ``ProviderError`` with Google's status, ``status`` code and message. A 401
drops the access token and the call is tried once more with a fresh one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.google_oauth import GoogleTokenSource
from liveclass.providers.json_fields import submessage, submessages, text
from liveclass.providers.transport import ProviderTransport, error_object, json_answer

GOOGLE_MEET_API_URL = "https://meet.googleapis.com/v2"
PROVIDER = "Google Meet"
MAX_PAGES = 50  # a class has a handful of conferences; a runaway pager is a bug, not data


class AccessType(enum.StrEnum):
    OPEN = "OPEN"  # anyone with the link joins without knocking
    TRUSTED = "TRUSTED"  # the organization's users; others knock
    RESTRICTED = "RESTRICTED"  # only invitees; others knock


@dataclass(frozen=True, slots=True)
class Space:
    name: str  # "spaces/{id}"
    meeting_uri: str
    meeting_code: str
    access_type: str
    active_conference: str  # "conferenceRecords/{id}" or ""

    @property
    def id(self) -> str:
        return self.name.removeprefix("spaces/")

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> Space:
        return cls(
            name=text(message, "name"),
            meeting_uri=text(message, "meetingUri"),
            meeting_code=text(message, "meetingCode"),
            access_type=text(submessage(message, "config"), "accessType"),
            active_conference=text(submessage(message, "activeConference"), "conferenceRecord"),
        )


@dataclass(frozen=True, slots=True)
class Participant:
    name: str  # "conferenceRecords/{c}/participants/{p}"
    display_name: str
    google_user: str  # "users/{id}" for a signed-in user, "" otherwise
    earliest_start: str
    latest_end: str

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> Participant:
        signed_in = submessage(message, "signedinUser")
        anonymous = submessage(message, "anonymousUser")
        phone = submessage(message, "phoneUser")
        display = (
            text(signed_in, "displayName")
            or text(anonymous, "displayName")
            or text(phone, "displayName")
        )
        return cls(
            name=text(message, "name"),
            display_name=display,
            google_user=text(signed_in, "user"),
            earliest_start=text(message, "earliestStartTime"),
            latest_end=text(message, "latestEndTime"),
        )


@dataclass(frozen=True, slots=True)
class ParticipantSession:
    name: str
    start_time: str
    end_time: str  # "" while still in the conference

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> ParticipantSession:
        return cls(text(message, "name"), text(message, "startTime"), text(message, "endTime"))


@dataclass(frozen=True, slots=True)
class Artifact:
    """A recording or transcript: its state and where it lives in the organizer's Drive
    (recordings: ``driveDestination``; transcripts: ``docsDestination``)."""

    name: str
    state: str  # STARTED, ENDED, FILE_GENERATED
    file: str
    export_uri: str
    start_time: str
    end_time: str

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> Artifact:
        drive = submessage(message, "driveDestination") or submessage(message, "docsDestination")
        return cls(
            name=text(message, "name"),
            state=text(message, "state"),
            file=text(drive, "file") or text(drive, "document"),
            export_uri=text(drive, "exportUri"),
            start_time=text(message, "startTime"),
            end_time=text(message, "endTime"),
        )


def space_config(access: AccessType, *, auto_record: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"accessType": access.value}
    if auto_record:
        # Meet records by itself when the conference starts (there is no start/stop call);
        # honoured for organizers whose Workspace edition allows recording
        config["artifactConfig"] = {"recordingConfig": {"autoRecordingGeneration": "ON"}}
    return config


class MeetClient:
    """The space and conference-record calls of one Google user."""

    def __init__(
        self,
        api_url: str = GOOGLE_MEET_API_URL,
        *,
        tokens: GoogleTokenSource,
        transport: ProviderTransport,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.tokens = tokens
        self.transport = transport

    # spaces

    async def create_space(self, config: Mapping[str, Any]) -> Space:
        reply = await self.request("POST", "/spaces", body={"config": dict(config)})
        return Space.parse(reply)

    async def get_space(self, space_id: str) -> Space:
        return Space.parse(await self.request("GET", f"/spaces/{space_id}"))

    async def update_space(self, space_id: str, config: Mapping[str, Any], mask: str) -> Space:
        reply = await self.request(
            "PATCH",
            f"/spaces/{space_id}",
            body={"config": dict(config)},
            params={"updateMask": mask},
        )
        return Space.parse(reply)

    async def end_active_conference(self, space_id: str) -> None:
        await self.request("POST", f"/spaces/{space_id}:endActiveConference", body={})

    # conference records

    async def conference_records(self, space_id: str) -> list[str]:
        """The names of the space's conference records (one per time people met in it)."""
        query = {"filter": f'space.name = "spaces/{space_id}"'}
        items = await self._pages("/conferenceRecords", "conferenceRecords", query)
        return [text(item, "name") for item in items]

    async def participants(self, record: str) -> list[Participant]:
        items = await self._pages(f"/{record}/participants", "participants")
        return [Participant.parse(item) for item in items]

    async def participant_sessions(self, participant: str) -> list[ParticipantSession]:
        items = await self._pages(f"/{participant}/participantSessions", "participantSessions")
        return [ParticipantSession.parse(item) for item in items]

    async def recordings(self, record: str) -> list[Artifact]:
        items = await self._pages(f"/{record}/recordings", "recordings")
        return [Artifact.parse(item) for item in items]

    async def transcripts(self, record: str) -> list[Artifact]:
        items = await self._pages(f"/{record}/transcripts", "transcripts")
        return [Artifact.parse(item) for item in items]

    async def _pages(
        self, path: str, field: str, query: Mapping[str, str] | None = None
    ) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        params = dict(query or {})
        for _ in range(MAX_PAGES):
            reply = await self.request("GET", path, params=params)
            found.extend(submessages(reply, field))
            following = text(reply, "nextPageToken")
            if not following:
                return found
            params["pageToken"] = following
        raise ProviderUnavailable(PROVIDER, f"{path} pages past {MAX_PAGES}")

    # the wire

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One call with a Bearer token (renewed once on a 401); Google's JSON answer."""
        response = await self.tokens.authorized(
            lambda token: self._send(method, path, body, params, token)
        )
        if response.status_code >= 300:
            raise refusal(response)
        return json_answer(PROVIDER, response, f"{method} {path}")

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
        token: str,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return await self.transport.send(
            method,
            f"{self.api_url}{path}",
            json=dict(body) if body is not None else None,
            params=dict(params or {}),
            headers=headers,
        )


def refusal(response: httpx.Response) -> ProviderError:
    error = error_object(response)
    code = text(error, "status") or str(response.status_code)
    message = text(error, "message") or response.text[:200].strip()
    return ProviderError(PROVIDER, response.status_code, code, message)
