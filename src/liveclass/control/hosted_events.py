"""What a hosted provider's webhooks change in liveclass, once each (signatures checked by
the provider's ``read_webhook``), the same for every provider:

- participant joined / left -> an attendance span ``<provider>:<connection>`` on the pseudo
  node ``<provider>``, timed by the event (a left before its joined leaves a closed span
  the joined stretches, as for LiveKit; ``control.hosted_attendance``, which also reads
  the attendance providers keep on record when the class ends);
- meeting started -> the class goes live (unless the meeting's end arrived first); meeting
  ended -> the class ends (``ended_on_provider``), spans left open close at its time;
- recording ready -> the recording (the one liveclass started, or a new one for a
  recording started in the provider's client) goes to ``processing`` and its file is
  queued in ``hosted_meetings.downloads``, in the event's transaction; ``download_pending``
  then streams it into the recording storage, checks its size, and makes the recording
  ``ready`` (or, after ``MAX_ATTEMPTS``, ``failed``); a failed attempt stays queued.

Each event id is written to ``provider_events`` in the same transaction as its effect.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from liveclass.control import hosted_attendance
from liveclass.control import sessions as session_cases
from liveclass.db import attendance, hosted_meetings, provider_events, recordings
from liveclass.db.database import Tx
from liveclass.db.hosted_meetings import HostedMeetingRecord
from liveclass.db.recordings import RecordingRecord
from liveclass.db.sessions import get_session
from liveclass.db.types import utcnow
from liveclass.domain.errors import DomainError
from liveclass.domain.lifecycle import EndReason, SessionStatus
from liveclass.domain.recordings import RecordingState
from liveclass.providers.hosted import (
    EventKind,
    HostedProvider,
    ProviderEvent,
    RecordingFile,
)
from liveclass.recording import service as recording_service
from liveclass.recording.errors import RecordingError, StorageError
from liveclass.services import Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# a download in progress on one node keeps others off it this long
CLAIM = timedelta(minutes=30)
_UNFINISHED = frozenset(
    {RecordingState.STARTING, RecordingState.RECORDING, RecordingState.PROCESSING}
)
_ATTENDANCE = frozenset({EventKind.PARTICIPANT_JOINED, EventKind.PARTICIPANT_LEFT})


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
    if event.kind is EventKind.RECORDING_READY and event.recording is not None:
        return Outcome.QUEUED, await _queue_download(tx, provider, meeting, event.recording)
    if event.kind is EventKind.RECORDING_FAILED:
        found = await _unfinished_recording(tx, provider, session_id)
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


# -- recordings ----------------------------------------------------------------------------


async def _unfinished_recording(
    tx: Tx, provider: str, session_id: uuid.UUID
) -> RecordingRecord | None:
    found = await recordings.latest_of(tx, session_id=session_id, states=_UNFINISHED)
    return found if found is not None and found.backend == provider else None


async def _queue_download(
    tx: Tx, provider: str, meeting: HostedMeetingRecord, file: RecordingFile
) -> RecordingRecord:
    found = await _unfinished_recording(tx, provider, meeting.session_id)
    if found is None:
        found = await _opened_on_provider(tx, provider, meeting.session_id)
    found = await _to_processing(tx, found)
    downloads = dict(meeting.downloads)
    downloads[str(found.id)] = {"file": _file_fields(file), "attempts": 0, "error": None}
    await hosted_meetings.set_downloads(tx, meeting=meeting, downloads=downloads)
    return found


async def _opened_on_provider(tx: Tx, provider: str, session_id: uuid.UUID) -> RecordingRecord:
    """A recording started in the provider's own client: liveclass keeps it too."""
    session = await get_session(tx, session_id=session_id)
    assert session is not None  # hosted_meetings rows reference their session
    new = recordings.opened(
        session_id=session.id,
        course_id=session.course_id,
        owner_id=session.owner_id,
        backend=provider,
        started_by=None,
        format="mp4",
    )
    await recordings.insert(tx, recording=new)
    return new


async def _to_processing(tx: Tx, found: RecordingRecord) -> RecordingRecord:
    # the provider may report the file before liveclass asked it to stop
    for was, to in (
        (RecordingState.STARTING, RecordingState.RECORDING),
        (RecordingState.RECORDING, RecordingState.PROCESSING),
    ):
        if found.state is was:
            found = await recordings.move(tx, recording_id=found.id, to=to, reason=None, was=was)
    return found


def _file_fields(file: RecordingFile) -> dict[str, Any]:
    fields = asdict(file)
    fields["headers"] = dict(file.headers)
    return fields


# -- downloading ---------------------------------------------------------------------------


async def download_pending(services: Services) -> int:
    """Fetch every queued recording file into storage; how many became ready. Several
    nodes may run it: a download being done by one is left alone by the others."""
    async with services.db.reader() as r:
        waiting = await hosted_meetings.with_pending(r)
    done = 0
    for meeting in waiting:
        provider = services.hosted_provider(meeting.provider)
        if provider is None:
            continue  # the provider's settings were removed; kept until they are back
        for recording_id in list(meeting.downloads):
            done += await _download(services, provider, meeting, uuid.UUID(recording_id))
    return done


async def _download(
    services: Services,
    provider: HostedProvider,
    meeting: HostedMeetingRecord,
    recording_id: uuid.UUID,
) -> int:
    entry = await _claim(services, meeting, recording_id)
    if entry is None:
        return 0
    file = RecordingFile(**entry["file"])
    async with services.db.reader() as r:
        session = await get_session(r, session_id=meeting.session_id)
    course_id = session.course_id if session is not None else None
    counted = _Counted(provider.download(file))
    key = f"{recording_id}/{provider.name}.{file.file_format}"
    try:
        stored = await services.recorder.storage.put_stream(
            key, counted, content_type=f"video/{file.file_format}", course_id=course_id
        )
        _check_size(file, counted.size, stored.size)
    except (DomainError, StorageError, RecordingError, OSError) as exc:
        reason = getattr(exc, "detail", None) or str(exc)
        log.warning("download of recording %s failed: %s", recording_id, reason)
        await _attempt_failed(services, meeting, recording_id, reason)
        return 0
    url = stored.url or f"{services.settings.base_url}/api/v1/recordings/{recording_id}/download"
    outcome = recording_service.StoredFile(stored.key, stored.size, file.duration_ms)
    await _finish(services, meeting, recording_id, outcome, url=url)
    return 1


def _check_size(file: RecordingFile, received: int, stored: int) -> None:
    if received == 0:
        raise RecordingError("the provider's file is empty")
    if file.size_bytes is not None and received != file.size_bytes:
        raise RecordingError(f"received {received} bytes of the {file.size_bytes} announced")
    if stored != received:
        raise RecordingError(f"the storage holds {stored} bytes of the {received} received")


class _Counted:
    """The download's bytes, counted on their way to storage."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self.source = source
        self.size = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.source:
            self.size += len(chunk)
            yield chunk


async def _claim(
    services: Services, meeting: HostedMeetingRecord, recording_id: uuid.UUID
) -> dict[str, Any] | None:
    now = utcnow()
    async with services.db.transaction() as tx:
        current = await _locked(tx, meeting)
        entry = None if current is None else current.downloads.get(str(recording_id))
        if current is None or entry is None:
            return None
        claimed = entry.get("claimed_until")
        if claimed is not None and datetime.fromisoformat(claimed) > now:
            return None
        downloads = dict(current.downloads)
        downloads[str(recording_id)] = {**entry, "claimed_until": (now + CLAIM).isoformat()}
        await hosted_meetings.set_downloads(tx, meeting=current, downloads=downloads)
    return dict(entry)


async def _locked(tx: Tx, meeting: HostedMeetingRecord) -> HostedMeetingRecord | None:
    return await hosted_meetings.by_meeting(
        tx, provider=meeting.provider, meeting_id=meeting.meeting_id, for_update=True
    )


async def _attempt_failed(
    services: Services, meeting: HostedMeetingRecord, recording_id: uuid.UUID, reason: str
) -> None:
    changed = None
    async with services.db.transaction() as tx:
        current = await _locked(tx, meeting)
        if current is None or str(recording_id) not in current.downloads:
            return
        downloads = dict(current.downloads)
        entry = downloads.pop(str(recording_id))
        attempts = int(entry.get("attempts", 0)) + 1
        if attempts >= MAX_ATTEMPTS:
            failure = RecordingError(f"the download failed {attempts} times: {reason}")
            changed = await recording_service.record_stored(
                tx, recording_id=recording_id, outcome=failure
            )
        else:
            downloads[str(recording_id)] = {
                **entry,
                "attempts": attempts,
                "error": reason[:500],
                "claimed_until": None,
            }
        await hosted_meetings.set_downloads(tx, meeting=current, downloads=downloads)
    if changed is not None:
        await services.room_events.recording_changed(changed.session_id, changed.id, changed.state)


async def _finish(
    services: Services,
    meeting: HostedMeetingRecord,
    recording_id: uuid.UUID,
    outcome: recording_service.StoredFile,
    *,
    url: str,
) -> None:
    async with services.db.transaction() as tx:
        current = await _locked(tx, meeting)
        if current is None:
            return
        downloads = dict(current.downloads)
        downloads.pop(str(recording_id), None)
        changed = await recording_service.record_stored(
            tx, recording_id=recording_id, outcome=outcome
        )
        await hosted_meetings.set_downloads(
            tx, meeting=current, downloads=downloads, recording_url=url
        )
    await services.room_events.recording_changed(changed.session_id, changed.id, changed.state)
