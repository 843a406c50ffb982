"""The session use cases' steps on a hosted provider (Daily, Zoom, Jitsi, ...): the meeting
is made when the class is scheduled, changed when it is rescheduled, deleted when it is
cancelled (and ended when it ends, as its media room: ``media/hosted.py``).

The meeting is kept as the session's media room (``media_server`` = its link,
``media_room`` = ``MediaRoom(<provider>, <link>, Meeting.stored())``) and in
``hosted_meetings``, where the provider's webhooks find the session by its meeting id.
Calls to the provider happen outside database transactions; when the save after a
provider call fails, the provider call is undone (a meeting made for a class that was not
saved is deleted again)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from liveclass.config import HOSTED_PROVIDERS
from liveclass.db import hosted_meetings
from liveclass.db.database import Tx
from liveclass.db.sessions import SessionRecord
from liveclass.domain.errors import Conflict, DomainError
from liveclass.media.hosted import room_of
from liveclass.providers.hosted import HostedProvider, Meeting, MeetingSpec
from liveclass.services import Services

log = logging.getLogger(__name__)

# the session fields a provider's meeting is made from
MEETING_FIELDS = frozenset(
    {
        "title",
        "scheduled_at",
        "duration_minutes",
        "max_participants",
        "waiting_room",
        "is_recorded",
        "is_public",
        "course_id",
    }
)


def spec_of(row: SessionRecord) -> MeetingSpec:
    return MeetingSpec(
        session_id=row.id,
        title=row.title,
        starts_at=row.scheduled_at,
        duration_minutes=row.duration_minutes,
        # the host is one of the people in the room besides the class's seats
        max_participants=row.max_participants + 1,
        waiting_room=row.waiting_room,
        recorded=row.is_recorded,
        is_public=row.is_public,
        course_id=row.course_id,
    )


def meeting_of(row: SessionRecord) -> Meeting | None:
    stored = row.media_room
    if not stored or stored.get("backend") != row.provider or "data" not in stored:
        return None
    return Meeting.of(row.provider, stored["data"])


def with_meeting(row: SessionRecord, meeting: Meeting) -> SessionRecord:
    """The session as it is stored with its meeting."""
    server, room = media_columns(meeting)
    return replace(row, media_server=server, media_room=room)


def media_columns(meeting: Meeting) -> tuple[str, dict[str, Any]]:
    room = room_of(meeting)
    return meeting.url, {"backend": room.backend, "server": room.server, "data": room.data}


async def create_meeting(provider: HostedProvider, row: SessionRecord) -> SessionRecord:
    """Make the class's meeting on the provider; the session to save with it."""
    return with_meeting(row, await provider.create(spec_of(row)))


async def remember_meeting(tx: Tx, row: SessionRecord) -> None:
    meeting = meeting_of(row)
    assert meeting is not None  # create_meeting gave the row its meeting
    added = await hosted_meetings.add(
        tx,
        provider=row.provider,
        meeting_id=meeting.meeting_id,
        session_id=row.id,
        url=meeting.url,
    )
    if not added:
        raise Conflict(
            f"{row.provider} gave this class a meeting another session has.",
            code="PROVIDER_UNAVAILABLE",
        )


async def discard(provider: HostedProvider, row: SessionRecord) -> None:
    """Delete a meeting whose session was not saved; the save's error is what the caller
    sees, so a failure here is only logged."""
    meeting = meeting_of(row)
    if meeting is None:
        return
    try:
        await provider.delete(meeting)
    except DomainError:
        log.warning("could not delete %s meeting %s", provider.name, meeting.meeting_id)


def check_provider_change(row: SessionRecord, changes: Mapping[str, Any]) -> None:
    new = changes.get("provider", row.provider)
    if new != row.provider and (is_hosted(row.provider) or is_hosted(new)):
        raise Conflict(
            "A session cannot move to or from a hosted provider; schedule a new one.",
            code="INVALID_STATE",
        )


def is_hosted(provider: str) -> bool:
    return provider in HOSTED_PROVIDERS


def touches_meeting(changes: Mapping[str, Any]) -> bool:
    return bool(MEETING_FIELDS & set(changes))


async def reschedule(
    provider: HostedProvider, before: SessionRecord, after: SessionRecord
) -> SessionRecord:
    """Change the meeting to the session as it will be; the session to save with it."""
    meeting = meeting_of(before)
    if meeting is None:
        return after
    return with_meeting(after, await provider.update(meeting, spec_of(after)))


async def restore(provider: HostedProvider, before: SessionRecord) -> None:
    """Put the meeting back as it was (the save of its change failed)."""
    meeting = meeting_of(before)
    if meeting is None:
        return
    try:
        await provider.update(meeting, spec_of(before))
    except DomainError:
        log.warning("could not restore %s meeting %s", provider.name, meeting.meeting_id)


async def delete_meeting(provider: HostedProvider, row: SessionRecord) -> None:
    """Cancel: the meeting goes first, so a provider that is down leaves the class as it
    was (503) rather than a cancelled class with a meeting people can still open."""
    meeting = meeting_of(row)
    if meeting is not None:
        await provider.delete(meeting)


async def meeting_links(services: Services, row: SessionRecord) -> dict[str, str]:
    """A hosted session's ``recording_url`` (its newest stored recording) and
    ``transcript_url`` (the provider's transcript), where it has them."""
    if not is_hosted(row.provider):
        return {}
    async with services.db.reader() as r:
        meeting = await hosted_meetings.of_session(r, session_id=row.id)
    if meeting is None:
        return {}
    links = {"recording_url": meeting.recording_url, "transcript_url": meeting.transcript_url}
    return {name: url for name, url in links.items() if url}
