"""A hosted provider's finished recordings, brought into liveclass's storage.

A file the provider reports (a webhook, ``control.hosted_events``, or its records read
after the class, ``control.hosted_attendance``) is queued in ``hosted_meetings.downloads``
with its recording, which goes to ``processing``, in the transaction that applied the
report; ``download_pending`` then streams it into the recording storage, checks its size,
and makes the recording ``ready`` (or, after ``MAX_ATTEMPTS``, ``failed``); a failed
attempt stays queued. Several nodes may run it: a download one of them claimed is left
alone by the others for ``CLAIM``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from liveclass.db import hosted_meetings, recordings
from liveclass.db.database import Tx
from liveclass.db.hosted_meetings import HostedMeetingRecord
from liveclass.db.recordings import RecordingRecord
from liveclass.db.sessions import get_session
from liveclass.db.types import utcnow
from liveclass.domain.errors import DomainError
from liveclass.domain.recordings import RecordingState
from liveclass.providers.hosted import EventKind, HostedProvider, ProviderEvent, RecordingFile
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


async def keep_file(
    tx: Tx, provider: str, meeting: HostedMeetingRecord, event: ProviderEvent
) -> tuple[bool, RecordingRecord | None]:
    """A file the provider reports, pushed or read from its records (``meeting`` locked):
    a recording's is queued for download (the recording, which changed, is answered); a
    transcript stays where the provider keeps it (a Google Doc) and its link is the
    session's ``transcript_url``. False for an event that carries no file."""
    if event.kind is EventKind.RECORDING_READY and event.recording is not None:
        return True, await queue_download(tx, provider, meeting, event.recording)
    if event.kind is EventKind.TRANSCRIPT_READY and event.link is not None:
        await hosted_meetings.set_transcript(tx, meeting=meeting, url=event.link)
        return True, None
    return False, None


async def unfinished_recording(
    tx: Tx, provider: str, session_id: uuid.UUID
) -> RecordingRecord | None:
    found = await recordings.latest_of(tx, session_id=session_id, states=_UNFINISHED)
    return found if found is not None and found.backend == provider else None


async def queue_download(
    tx: Tx, provider: str, meeting: HostedMeetingRecord, file: RecordingFile
) -> RecordingRecord:
    """The recording ``file`` belongs to (the one liveclass started, or a new one for a
    recording started in the provider's client), in ``processing``, its file queued."""
    found = await unfinished_recording(tx, provider, meeting.session_id)
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
