"""What a hosted provider's webhooks change in liveclass, once each (signatures checked by
the provider's ``read_webhook``), the same for every provider:

- participant joined / left -> an attendance span ``<provider>:<connection>`` on the pseudo
  node ``<provider>``, timed by the event (a left before its joined leaves a closed span
  the joined stretches, as for LiveKit; ``control.hosted_attendance``, which also reads
  the attendance providers keep on record when the class ends);
- meeting started -> the class goes live (unless the meeting's end arrived first); meeting
  ended -> the class ends (``ended_on_provider``), spans left open close at its time;
- recording ready -> the recording goes to ``processing`` and its file is queued, in the
  event's transaction, for ``control.hosted_downloads`` to fetch into the storage.

Each event id is written to ``provider_events`` in the same transaction as its effect.
"""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import replace

from liveclass.control import hosted_attendance, hosted_downloads
from liveclass.control import sessions as session_cases
from liveclass.db import attendance, hosted_meetings, provider_events
from liveclass.db.database import Tx
from liveclass.db.hosted_meetings import HostedMeetingRecord
from liveclass.db.recordings import RecordingRecord
from liveclass.db.sessions import get_session
from liveclass.domain.errors import DomainError
from liveclass.domain.lifecycle import EndReason, SessionStatus
from liveclass.providers.hosted import (
    EventKind,
    HostedProvider,
    ProviderEvent,
)
from liveclass.recording import service as recording_service
from liveclass.recording.errors import RecordingError
from liveclass.services import Services

log = logging.getLogger(__name__)

_ATTENDANCE = frozenset({EventKind.PARTICIPANT_JOINED, EventKind.PARTICIPANT_LEFT})
_FILES = frozenset({EventKind.RECORDING_READY, EventKind.TRANSCRIPT_READY})


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this event id was handled before
    IGNORED = "ignored"  # not about a liveclass session, or nothing to change
    QUEUED = "queued"  # a recording's file is waiting to be downloaded


async def receive(
    services: Services, provider: HostedProvider, events: list[ProviderEvent]
) -> Outcome:
    """Apply a delivery's events (one, for most providers); its outcome."""
    outcomes = [await _receive_one(services, provider, event) for event in events]
    for wanted in (Outcome.QUEUED, Outcome.APPLIED, Outcome.DUPLICATE):
        if wanted in outcomes:
            return wanted
    return Outcome.IGNORED


async def _receive_one(
    services: Services, provider: HostedProvider, event: ProviderEvent
) -> Outcome:
    async with services.db.transaction() as tx:
        meeting = await _meeting_of(tx, provider.name, event)
        fresh = await provider_events.remember(
            tx,
            provider=provider.name,
            event_id=event.event_id,
            event=event.kind.value,
            room=event.meeting_id if meeting is None else meeting.meeting_id,
        )
        if not fresh:
            return Outcome.DUPLICATE
        if meeting is None:
            return Outcome.IGNORED
        event = replace(event, meeting_id=meeting.meeting_id)
        outcome, changed = await _apply(tx, provider.name, meeting, event)
    if changed is not None:
        await services.room_events.recording_changed(changed.session_id, changed.id, changed.state)
    if event.kind is EventKind.MEETING_STARTED and outcome is Outcome.APPLIED:
        await _start(services, meeting.session_id)
    elif event.kind is EventKind.MEETING_ENDED:
        await _end(services, meeting.session_id)
    return outcome


async def _meeting_of(tx: Tx, provider: str, event: ProviderEvent) -> HostedMeetingRecord | None:
    """The meeting an event is about, by its id, or by its link where the provider names
    only that (Teams' notifications); locked for the event's effect."""
    if event.meeting_id or not event.url:
        return await hosted_meetings.by_meeting(
            tx, provider=provider, meeting_id=event.meeting_id, for_update=True
        )
    found = await hosted_meetings.by_url(tx, provider=provider, url=event.url)
    if found is None:
        return None
    return await hosted_meetings.by_meeting(
        tx, provider=provider, meeting_id=found.meeting_id, for_update=True
    )


async def _apply(
    tx: Tx, provider: str, meeting: HostedMeetingRecord, event: ProviderEvent
) -> tuple[Outcome, RecordingRecord | None]:
    session_id = meeting.session_id
    if event.kind in _ATTENDANCE:
        applied = await hosted_attendance.apply(tx, provider, session_id, event)
        return (Outcome.APPLIED if applied else Outcome.IGNORED), None
    if event.kind is EventKind.MEETING_STARTED:
        ended = await provider_events.seen(
            tx, provider=provider, room=event.meeting_id, event=EventKind.MEETING_ENDED.value
        )
        return (Outcome.IGNORED if ended else Outcome.APPLIED), None
    if event.kind is EventKind.MEETING_ENDED:
        await attendance.close_node_in_session(
            tx, session_id=session_id, node_id=provider, at=event.at
        )
        return Outcome.APPLIED, None
    if event.kind in _FILES:
        kept, queued = await hosted_downloads.keep_file(tx, provider, meeting, event)
        if not kept:
            return Outcome.IGNORED, None
        return (Outcome.QUEUED if queued is not None else Outcome.APPLIED), queued
    if event.kind is EventKind.RECORDING_FAILED:
        found = await hosted_downloads.unfinished_recording(tx, provider, session_id)
        if found is None:
            return Outcome.IGNORED, None
        failure = RecordingError(f"{provider}: {event.reason or 'the recording failed'}")
        changed = await recording_service.record_stored(tx, recording_id=found.id, outcome=failure)
        return Outcome.APPLIED, changed
    return Outcome.IGNORED, None


# -- the lifecycle -------------------------------------------------------------------------


async def _start(services: Services, session_id: uuid.UUID) -> None:
    try:
        await session_cases.start_session(services, None, session_id)
    except DomainError as exc:  # cancelled or ended meanwhile: the meeting changes nothing
        log.info("meeting start of session %s ignored: %s", session_id, exc.detail)


async def _end(services: Services, session_id: uuid.UUID) -> None:
    async with services.db.reader() as r:
        session = await get_session(r, session_id=session_id)
    if session is None or session.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
        return
    if session.status is SessionStatus.SCHEDULED:
        # the end arrived before the start: the class did take place
        await _start(services, session_id)
    await session_cases.end_session(services, None, session_id, reason=EndReason.ENDED_ON_PROVIDER)
