"""Recording use cases: start, stop, finish, delete and retention, as the API and the
session lifecycle (``capture.SessionRecording``) call them. Capturing media is the
backend's job (Janus records .mjr files; the mesh recorder process writes WebM); this
module keeps the recording's record exact and stores the result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from liveclass.db import recordings
from liveclass.db.database import Tx
from liveclass.db.recordings import RecordingRecord
from liveclass.db.sessions import SessionRecord, get_session
from liveclass.db.types import utcnow
from liveclass.domain.access import require_host
from liveclass.domain.actors import Actor
from liveclass.domain.errors import InvalidState, NotFound
from liveclass.domain.lifecycle import SessionStarted, SessionStatus
from liveclass.domain.recordings import ACTIVE, FINISHED, RecordingState
from liveclass.recording.errors import RecordingError
from liveclass.recording.janus_post import PostResult
from liveclass.recording.recorder import Recorder
from liveclass.recording.storage import RecordingStorage


async def start_recording(
    recorder: Recorder, actor: Actor, session_id: uuid.UUID
) -> RecordingRecord:
    """Host only, only while live; a second start while one records is a no-op."""
    async with recorder.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        return await _open(recorder, tx, session, started_by=actor.user_id)


async def stop_recording(
    recorder: Recorder, actor: Actor, session_id: uuid.UUID
) -> RecordingRecord:
    async with recorder.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        found = await recordings.active(tx, session_id=session_id)
        if found is None:
            raise InvalidState("The session is not being recorded.", code="INVALID_STATE")
        return await _to_processing(tx, found)


async def on_session_started(recorder: Recorder, event: SessionStarted) -> RecordingRecord | None:
    """Call after a session became live: ``is_recorded`` sessions start recording."""
    if not event.is_recorded:
        return None
    async with recorder.db.transaction() as tx:
        fresh = await get_session(tx, session_id=event.session_id)
        if fresh is None or fresh.status != SessionStatus.LIVE:
            return None
        return await _open(recorder, tx, fresh, started_by=None)


async def on_session_ended(recorder: Recorder, session_id: uuid.UUID) -> RecordingRecord | None:
    """Call when a session ends: its active recording stops and goes to processing."""
    async with recorder.db.transaction() as tx:
        found = await recordings.active(tx, session_id=session_id)
        if found is None:
            return None
        return await _to_processing(tx, found)


async def mark_recording(recorder: Recorder, recording_id: uuid.UUID) -> None:
    """The capture really began (the recorder or Janus confirmed): ``starting -> recording``."""
    async with recorder.db.transaction() as tx:
        found = await _get(tx, recording_id)
        if found.state is RecordingState.STARTING:
            await _move(tx, found, RecordingState.RECORDING)


async def mark_stopped(recorder: Recorder, recording_id: uuid.UUID) -> None:
    """The capture ended without a stop call (the class ended on another node, or the
    recorder left): the recording goes to processing like after a stop."""
    async with recorder.db.transaction() as tx:
        found = await _get(tx, recording_id)
        if found.state in ACTIVE:
            await _to_processing(tx, found)


async def finish(
    recorder: Recorder,
    recording_id: uuid.UUID,
    outcome: PostResult | RecordingError,
    *,
    duration_ms: int | None = None,
) -> RecordingRecord:
    """Record the post-processing outcome: ``ready`` with the stored file, or ``failed``."""
    async with recorder.db.transaction() as tx:
        found = await _get(tx, recording_id)
        if isinstance(outcome, RecordingError):
            return await _move(tx, found, RecordingState.FAILED, reason=str(outcome))
        await recordings.set_output(
            tx,
            recording_id=recording_id,
            storage_key=outcome.main.key,
            size_bytes=outcome.main.size,
            feed_keys=[f.key for f in outcome.feeds],
            duration_ms=duration_ms,
        )
        return await _move(tx, found, RecordingState.READY)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A recording's file as a provider stored it (LiveKit egress): its storage key."""

    key: str
    size: int
    duration_ms: int | None


async def finish_stored(
    recorder: Recorder, recording_id: uuid.UUID, outcome: StoredFile | RecordingError
) -> RecordingRecord:
    """The provider reports the recording's file (``ready``) or its failure (``failed``)."""
    async with recorder.db.transaction() as tx:
        return await record_stored(tx, recording_id=recording_id, outcome=outcome)


async def record_stored(
    tx: Tx, *, recording_id: uuid.UUID, outcome: StoredFile | RecordingError
) -> RecordingRecord:
    """``finish_stored`` inside the caller's transaction (a webhook's, with its dedup row).

    The report may come before liveclass asked the provider to stop (the room closed, a
    limit was reached), so an active recording goes through ``processing`` on the way; a
    recording already finished stays as it is (a late or repeated report)."""
    found = await _get(tx, recording_id)
    if found.state in FINISHED or found.state is RecordingState.DELETED:
        return found
    if isinstance(outcome, RecordingError):
        return await _move(tx, found, RecordingState.FAILED, reason=str(outcome))
    if found.state is RecordingState.STARTING:
        found = await _move(tx, found, RecordingState.RECORDING)
    if found.state is RecordingState.RECORDING:
        found = await _move(tx, found, RecordingState.PROCESSING)
    await recordings.set_output(
        tx,
        recording_id=recording_id,
        storage_key=outcome.key,
        size_bytes=outcome.size,
        feed_keys=[],
        duration_ms=outcome.duration_ms,
    )
    return await _move(tx, found, RecordingState.READY)


async def confirm_started(tx: Tx, *, recording_id: uuid.UUID) -> RecordingRecord:
    """The provider reports the capture began: ``starting -> recording`` (once)."""
    found = await _get(tx, recording_id)
    if found.state is RecordingState.STARTING:
        return await _move(tx, found, RecordingState.RECORDING)
    return found


async def fail(recorder: Recorder, recording_id: uuid.UUID, reason: str) -> RecordingRecord:
    """The capture broke (recorder crashed, Janus gone): mark it failed; the class goes on."""
    async with recorder.db.transaction() as tx:
        found = await _get(tx, recording_id)
        if found.state in FINISHED or found.state is RecordingState.DELETED:
            return found
        return await _move(tx, found, RecordingState.FAILED, reason=reason)


async def delete_recording(recorder: Recorder, actor: Actor, recording_id: uuid.UUID) -> None:
    """Host/admin: remove the files, keep the row as ``deleted`` (an audit trail)."""
    async with recorder.db.transaction() as tx:
        found = await _get(tx, recording_id)
        session = await get_session(tx, session_id=found.session_id)
        if session is None:
            raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
        require_host(actor, session)
        await _move(tx, found, RecordingState.DELETED)
    await _remove_files(recorder.storage, found.keys)


async def purge_expired(recorder: Recorder) -> int:
    """Delete finished recordings older than ``recording_retention_days``: files and rows."""
    before: datetime = utcnow() - timedelta(days=recorder.settings.recording_retention_days)
    storage = recorder.storage
    async with recorder.db.transaction() as tx:
        found = await recordings.expired(tx, before=before)
        for old in found:
            await _remove_files(storage, old.keys)
            await recordings.delete(tx, recording_id=old.id)
    return len(found)


async def _live_session(tx: Tx, session_id: uuid.UUID) -> SessionRecord:
    session = await get_session(tx, session_id=session_id, for_update=True)
    if session is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    if session.status != SessionStatus.LIVE:
        raise InvalidState(f"Only a live session can be recorded; this one is {session.status}.")
    return session


async def _open(
    recorder: Recorder, tx: Tx, session: SessionRecord, *, started_by: str | None
) -> RecordingRecord:
    existing = await recordings.active(tx, session_id=session.id)
    if existing is not None:
        return existing
    # a provider that stores the file itself writes MP4 (LiveKit's egress); ours is WebM
    stored = recorder.backend(session.provider).stores_recordings
    new = recordings.opened(
        session_id=session.id,
        course_id=session.course_id,
        owner_id=session.owner_id,
        backend=session.provider,
        started_by=started_by,
        format="mp4" if stored else "webm",
    )
    await recordings.insert(tx, recording=new)
    return new


async def _to_processing(tx: Tx, found: RecordingRecord) -> RecordingRecord:
    # a capture that never confirmed its start has nothing to process
    if found.state is RecordingState.STARTING:
        reason = "stopped before the capture began"
        return await _move(tx, found, RecordingState.FAILED, reason=reason)
    return await _move(tx, found, RecordingState.PROCESSING)


async def _move(
    tx: Tx, found: RecordingRecord, to: RecordingState, *, reason: str | None = None
) -> RecordingRecord:
    return await recordings.move(tx, recording_id=found.id, to=to, reason=reason, was=found.state)


async def _get(tx: Tx, recording_id: uuid.UUID) -> RecordingRecord:
    found = await recordings.get(tx, recording_id=recording_id, for_update=True)
    if found is None:
        raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
    return found


async def _remove_files(storage: RecordingStorage, keys: list[str]) -> None:
    for key in keys:
        await storage.delete(key)
