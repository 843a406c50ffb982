"""Daily as a hosted provider (seed 003): a private room per class, named after the session,
a meeting token per person (``is_owner`` for the host only), cloud recordings through the
REST API, fetched through access links, and Daily's signed webhooks read as
``ProviderEvent``s."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from liveclass.config import Settings
from liveclass.domain.roles import Role
from liveclass.providers import daily_webhooks as hooks
from liveclass.providers.daily_api import PROVIDER, DailyClient
from liveclass.providers.errors import ProviderUnavailable
from liveclass.providers.hosted import (
    Attendee,
    Challenge,
    EventKind,
    JoinGrant,
    Meeting,
    MeetingSpec,
    ProviderEvent,
    RecordingFile,
)

NAME = "daily"
# the host and co-hosts run the room (Daily's owner: recording, ejecting, muting others)
OWNERS = frozenset({Role.HOST, Role.CO_HOST})
DOWNLOAD_CHUNK = 256 * 1024


class DailyProvider:
    """``HostedProvider`` on Daily's REST API."""

    name = NAME

    def __init__(self, client: DailyClient, *, webhook_secret: str, grace_seconds: int) -> None:
        self.client = client
        self._secret = webhook_secret
        self._grace = grace_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> DailyProvider:
        key, secret = settings.daily_api_key, settings.daily_webhook_secret
        assert key is not None and secret is not None  # checked by hosted_configured
        client = DailyClient(key.get_secret_value(), api_url=settings.daily_api_url)
        return cls(
            client,
            webhook_secret=secret.get_secret_value(),
            grace_seconds=settings.hosted_grace_minutes * 60,
        )

    def _exp(self, spec: MeetingSpec) -> int:
        return int(spec.starts_at.timestamp()) + spec.duration_minutes * 60 + self._grace

    async def create(self, spec: MeetingSpec) -> Meeting:
        room = await self.client.create_room(
            name=str(spec.session_id),
            exp=self._exp(spec),
            max_participants=spec.max_participants,
            recorded=spec.recorded,
        )
        return Meeting(NAME, room.name, room.url, {"exp": self._exp(spec)})

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        room = await self.client.update_room(
            meeting.meeting_id, exp=self._exp(spec), max_participants=spec.max_participants
        )
        return Meeting(NAME, room.name, room.url, {"exp": self._exp(spec)})

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        # the token lives as long as the room: Daily checks it when the client joins
        exp = _int(meeting.data.get("exp")) or int(time.time()) + self._grace
        token = await self.client.meeting_token(
            room_name=meeting.meeting_id,
            user_name=who.name,
            user_id=who.user_id,
            is_owner=who.role in OWNERS,
            exp=exp,
        )
        return JoinGrant(url=f"{meeting.url}?t={token}", token=token, expires_at=exp)

    async def end(self, meeting: Meeting) -> None:
        # the room closes now and ejects everyone (eject_at_room_exp); recordings stay
        await self.client.update_room(meeting.meeting_id, exp=int(time.time()))

    async def delete(self, meeting: Meeting) -> None:
        await self.client.delete_room(meeting.meeting_id)

    async def start_recording(self, meeting: Meeting) -> None:
        await self.client.start_recording(meeting.meeting_id)

    async def stop_recording(self, meeting: Meeting) -> None:
        await self.client.stop_recording(meeting.meeting_id)

    async def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        # access links are short-lived: fetched fresh for each attempt, never stored
        link = await self.client.access_link(recording.recording_id)
        http = self.client.http
        try:
            async with http.stream("GET", link.download_link) as response:
                if response.status_code >= 400:
                    raise ProviderUnavailable(
                        PROVIDER, f"the recording download answered {response.status_code}"
                    )
                async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                    yield chunk
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"download: {type(exc).__name__}") from exc

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        event = hooks.read_webhook(secret=self._secret, headers=headers, body=body)
        if event is None:
            return Challenge({"ok": True})  # Daily's verification ping: 200 is all it needs
        read = _READERS.get(event.type)
        return [] if read is None else [read(event)]

    async def aclose(self) -> None:
        await self.client.aclose()


def _meeting(event: hooks.DailyEvent) -> ProviderEvent:
    change = event.meeting()
    ended = event.type == hooks.MEETING_ENDED
    at = change.end_ts if ended and change.end_ts is not None else change.start_ts
    kind = EventKind.MEETING_ENDED if ended else EventKind.MEETING_STARTED
    return ProviderEvent(kind, event.id, change.room, _time(at))


def _participant(event: hooks.DailyEvent) -> ProviderEvent:
    change = event.participant()
    if change.duration is None:
        kind, at = EventKind.PARTICIPANT_JOINED, change.joined_at
    else:
        kind, at = EventKind.PARTICIPANT_LEFT, change.joined_at + change.duration
    return ProviderEvent(
        kind,
        event.id,
        change.room,
        _time(at),
        user_id=change.user_id or None,
        connection=change.session_id,
    )


def _recording_ready(event: hooks.DailyEvent) -> ProviderEvent:
    ready = event.recording_ready()
    file = RecordingFile(
        recording_id=ready.recording_id,
        download_url="",  # an access link, asked for at download time
        duration_ms=int(ready.duration * 1000) or None,
    )
    return ProviderEvent(
        EventKind.RECORDING_READY, event.id, ready.room, _time(event.event_ts), recording=file
    )


def _recording_error(event: hooks.DailyEvent) -> ProviderEvent:
    payload = event.payload
    room = str(payload.get("room_name") or payload.get("room") or "")
    reason = str(payload.get("error_msg") or "Daily reported a recording error")
    return ProviderEvent(
        EventKind.RECORDING_FAILED, event.id, room, _time(event.event_ts), reason=reason
    )


_READERS: dict[str, Any] = {
    hooks.MEETING_STARTED: _meeting,
    hooks.MEETING_ENDED: _meeting,
    hooks.PARTICIPANT_JOINED: _participant,
    hooks.PARTICIPANT_LEFT: _participant,
    hooks.RECORDING_READY: _recording_ready,
    hooks.RECORDING_ERROR: _recording_error,
}


def _time(seconds: float) -> datetime:
    # Daily's timestamps are Unix seconds; milliseconds where they are that large
    if seconds > 100_000_000_000:
        seconds /= 1000
    return datetime.fromtimestamp(seconds, UTC)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
