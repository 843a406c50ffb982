"""The hosted-provider protocol: what liveclass asks of a provider that moves the media in
its own client (Daily, Zoom, Jitsi, Agora, Google Meet, Teams) while liveclass stays the
control plane (schedule, links, attendance, recordings).

A provider is a few async steps over a ``Meeting`` (what the provider made for one class)
and one synchronous read of its webhooks into ``ProviderEvent``s, the same shape for
every provider, so control/ applies them one way (attendance intervals, the session's
lifecycle, recordings). Each provider module (``providers/daily.py``, ...) implements it on
its wire client; one contract suite runs against every one of them.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from liveclass.domain.roles import Role


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    """A class as a provider needs it, made from the session."""

    session_id: uuid.UUID
    title: str
    starts_at: datetime
    duration_minutes: int
    max_participants: int
    waiting_room: bool
    recorded: bool
    is_public: bool
    course_id: str | None

    def planned_end(self) -> int:
        """When the class is planned to end, in unix seconds (a start without a zone is UTC)."""
        starts_at = self.starts_at
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=UTC)
        return int((starts_at + timedelta(minutes=self.duration_minutes)).timestamp())


@dataclass(frozen=True, slots=True)
class Meeting:
    """What a provider made for one class, kept with the session (its media room's data)."""

    provider: str
    meeting_id: str  # the provider's id (Daily's room name, Zoom's meeting id, ...)
    url: str  # the link everyone may see (seed 000 ``meeting_url``, seed 003 ``room_url``)
    data: Mapping[str, Any] = field(default_factory=dict)  # the provider's own extras

    def stored(self) -> dict[str, Any]:
        return {"meeting_id": self.meeting_id, "url": self.url, "data": dict(self.data)}

    @classmethod
    def of(cls, provider: str, stored: Mapping[str, Any]) -> Meeting:
        return cls(provider, str(stored["meeting_id"]), str(stored["url"]), stored.get("data", {}))


@dataclass(frozen=True, slots=True)
class Attendee:
    """One person of the class, to give their own link or token."""

    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class JoinGrant:
    """A person's own way in: the link to open (the host's start link, never a student's
    for the host and vice versa), and the token inside it where the provider has one."""

    url: str
    token: str | None = None
    expires_at: int | None = None  # unix seconds
    extra: Mapping[str, Any] = field(default_factory=dict)  # what a provider's client needs


class EventKind(enum.StrEnum):
    MEETING_STARTED = "meeting_started"
    MEETING_ENDED = "meeting_ended"
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    RECORDING_READY = "recording_ready"
    RECORDING_FAILED = "recording_failed"
    TRANSCRIPT_READY = "transcript_ready"


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """A finished recording on the provider's side, to download into liveclass's storage."""

    recording_id: str
    download_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    size_bytes: int | None = None  # when the provider says, checked after the download
    file_format: str = "mp4"
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One webhook event, read the same way for every provider."""

    kind: EventKind
    event_id: str  # the provider's id for this delivery (de-duplication)
    meeting_id: str  # "" where the provider names the meeting only by its link (``url``)
    at: datetime
    user_id: str | None = None  # the platform's user id the provider was given for them
    connection: str | None = None  # the provider's id of this one attendance (a socket)
    recording: RecordingFile | None = None
    reason: str | None = None  # RECORDING_FAILED
    # where the provider names a person only by a number (Agora's uid): ``numeric_uid`` of
    # the meeting and their user id, matched against the session's participants
    uid: int | None = None
    link: str | None = None  # TRANSCRIPT_READY: where the provider keeps the transcript
    # where the provider knows a person only by the name they show (Meet, Teams): matched
    # against the names of the session's participants, when exactly one has it
    display_name: str | None = None
    # where the provider names the meeting by its join link, not its id (Teams' notifications)
    url: str | None = None


def numeric_uid(meeting_id: str, user_id: str) -> int:
    """A person's stable 32-bit id in one meeting (never 0, which providers read as "pick
    one"), for providers whose media ids are numbers; the same person gets the same id on
    every join, so a webhook's number leads back to them."""
    digest = hashlib.sha256(f"{meeting_id}\n{user_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") or 1


# A token for a provider's own client outlives the class's planned end by this much, for a
# class that runs over.
OVERRUN_SECONDS = 3600


def token_meeting_data(spec: MeetingSpec) -> dict[str, Any]:
    """What a provider with no meeting API of its own (liveclass mints its tokens) keeps of a
    class in ``Meeting.data``: the planned end its tokens last to, and whether it records."""
    return {"ends_at": spec.planned_end(), "recorded": spec.recorded}


def token_seconds(ends_at: object, now: float, *, shortest: int, longest: int) -> int:
    """How long a person's token for a class should last from ``now``: to the planned end
    (``ends_at``, unix seconds, as a provider keeps it in ``Meeting.data``) plus the overrun,
    within the provider's bounds; ``longest`` when the end is not known."""
    if not isinstance(ends_at, int | float):
        return longest
    return min(longest, max(shortest, int(ends_at - now) + OVERRUN_SECONDS))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A webhook's header by its name in any case (RFC 9110): the endpoint may hand over a
    plain mapping."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Challenge:
    """A webhook that asks to be answered, not applied (Zoom's url_validation, Daily's
    verification ping): the JSON body to answer with 200, or, where the provider wants its
    token echoed as such (Graph's ``validationToken``), the plain text."""

    answer: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None


class HostedProvider(Protocol):
    """Raises ``ProviderUnavailable`` (503) when the provider is down, slow or 5xx, and
    ``ProviderError`` (502) when it refuses; nothing half-made is left behind by a step."""

    name: str

    async def create(self, spec: MeetingSpec) -> Meeting: ...

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting: ...

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant: ...

    async def end(self, meeting: Meeting) -> None: ...

    async def delete(self, meeting: Meeting) -> None:
        """Gone already counts as done."""

    async def start_recording(self, meeting: Meeting) -> None:
        """``NotSupported`` where the provider records only from its own client."""

    async def stop_recording(self, meeting: Meeting) -> None: ...

    def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        """The recording's bytes, streamed."""
        ...

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        """Verified exactly as the provider signs (``WebhookRejected`` otherwise), then read."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ChallengedByQuery(Protocol):
    """A provider that checks a webhook endpoint by a query parameter before it sends
    anything there (Graph's ``?validationToken=``, on subscribing and renewing)."""

    def query_challenge(self, query: Mapping[str, str]) -> Challenge | None:
        """The answer when ``query`` is such a check; None for a delivery to read."""
        ...


@runtime_checkable
class ReadsAttendance(Protocol):
    """A provider whose attendance is read from its own records (Meet's conference records,
    Teams' attendance reports) rather than only pushed: liveclass reads it when the class
    ends and again later, as those records fill in after the meeting."""

    async def attendance(self, meeting: Meeting) -> list[ProviderEvent]:
        """Every join and leave on record, oldest first, with ids stable across reads."""
        ...


@runtime_checkable
class ReadsRecordings(Protocol):
    """A provider whose finished recordings are listed on its records (Meet's conference
    records), read with its attendance after the class: a file whose push never came, or
    came naming only the recording, is found there."""

    async def recordings(self, meeting: Meeting) -> list[ProviderEvent]:
        """``RECORDING_READY`` for every file on record, with the event id a push of the
        same file carries (so the two de-duplicate)."""
        ...


@runtime_checkable
class Ejects(Protocol):
    """A provider that can drop a person from its meeting from outside (Agora's kicking
    rules); the others rely on the kicked person getting no new link."""

    async def kick(self, meeting: Meeting, who: Attendee) -> None: ...
