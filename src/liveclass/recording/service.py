"""Recording use cases: start, stop, finish, delete and retention, as the API and the
session lifecycle (``capture.SessionRecording``) call them. Capturing media is the
backend's job (Janus records .mjr files; the mesh recorder process writes WebM); this
module keeps the recording row exact and stores the result.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from liveclass.db import recordings as queries
from liveclass.db.database import Transaction
from liveclass.db.sessions import SessionRecord, get_session
from liveclass.db.tables import RecordingRow
from liveclass.db.types import utcnow
from liveclass.domain.access import require_host
from liveclass.domain.actors import Actor
from liveclass.domain.errors import InvalidState, NotFound
from liveclass.domain.lifecycle import SessionStarted, SessionStatus
from liveclass.domain.recordings import RecordingState
from liveclass.recording.errors import RecordingError
from liveclass.recording.janus_post import PostResult
from liveclass.recording.recorder import Recorder
from liveclass.recording.storage import RecordingStorage


async def start_recording(recorder: Recorder, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    """Host only, only while live; a second start while one records is a no-op."""
    async with recorder.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        return await _open(tx, session, started_by=actor.user_id)


async def stop_recording(recorder: Recorder, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    async with recorder.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        row = await queries.active_recording(tx, session_id)
        if row is None:
            raise InvalidState("The session is not being recorded.", code="INVALID_STATE")
        _to_processing(row)
        return row


async def on_session_started(recorder: Recorder, event: SessionStarted) -> RecordingRow | None:
    """Call after a session became live: ``is_recorded`` sessions start recording."""
    if not event.is_recorded:
        return None
    async with recorder.db.transaction() as tx:
        fresh = await get_session(tx, session_id=event.session_id)
        if fresh is None or fresh.status != SessionStatus.LIVE:
            return None
        return await _open(tx, fresh, started_by=None)


async def on_session_ended(recorder: Recorder, session_id: uuid.UUID) -> RecordingRow | None:
    """Call when a session ends: its active recording stops and goes to processing."""
    async with recorder.db.transaction() as tx:
        row = await queries.active_recording(tx, session_id)
        if row is not None:
            _to_processing(row)
        return row


async def mark_recording(recorder: Recorder, recording_id: uuid.UUID) -> None:
    """The capture really began (the recorder or Janus confirmed): ``starting -> recording``."""
    async with recorder.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state == RecordingState.STARTING:
            queries.move_to(row, RecordingState.RECORDING)


async def mark_stopped(recorder: Recorder, recording_id: uuid.UUID) -> None:
    """The capture ended without a stop call (the class ended on another node, or the
    recorder left): the recording goes to processing like after a stop."""
    async with recorder.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state in (RecordingState.STARTING, RecordingState.RECORDING):
            _to_processing(row)


async def finish(
    recorder: Recorder,
    recording_id: uuid.UUID,
    outcome: PostResult | RecordingError,
    *,
    duration_ms: int | None = None,
) -> RecordingRow:
    """Record the post-processing outcome: ``ready`` with the stored file, or ``failed``."""
    async with recorder.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if isinstance(outcome, RecordingError):
            queries.move_to(row, RecordingState.FAILED, reason=str(outcome))
            return row
        queries.move_to(row, RecordingState.READY)
        row.storage_key = outcome.main.key
        row.size_bytes = outcome.main.size
        row.feed_keys = [f.key for f in outcome.feeds]
        row.duration_ms = duration_ms
        return row


async def fail(recorder: Recorder, recording_id: uuid.UUID, reason: str) -> RecordingRow:
    """The capture broke (recorder crashed, Janus gone): mark it failed; the class goes on."""
    async with recorder.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state not in (RecordingState.FAILED, RecordingState.DELETED, RecordingState.READY):
            queries.move_to(row, RecordingState.FAILED, reason=reason)
        return row


async def delete_recording(recorder: Recorder, actor: Actor, recording_id: uuid.UUID) -> None:
    """Host/admin: remove the files, keep the row as ``deleted`` (an audit trail)."""
    async with recorder.db.transaction() as tx:
        row = await _get(tx, recording_id)
        session = await get_session(tx, session_id=row.session_id)
        if session is None:
            raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
        require_host(actor, session)
        queries.move_to(row, RecordingState.DELETED)
        keys = _keys(row)
    await _remove_files(recorder.storage, keys)


async def purge_expired(recorder: Recorder) -> int:
    """Delete finished recordings older than ``recording_retention_days``: files and rows."""
    before = utcnow() - timedelta(days=recorder.settings.recording_retention_days)
    storage = recorder.storage
    async with recorder.db.transaction() as tx:
        rows = await queries.expired_recordings(tx, before=before)
        for row in rows:
            await _remove_files(storage, _keys(row))
            await tx.orm.delete(row)
    return len(rows)


async def _live_session(tx: Transaction, session_id: uuid.UUID) -> SessionRecord:
    session = await get_session(tx, session_id=session_id, for_update=True)
    if session is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    if session.status != SessionStatus.LIVE:
        raise InvalidState(f"Only a live session can be recorded; this one is {session.status}.")
    return session


async def _open(tx: Transaction, session: SessionRecord, *, started_by: str | None) -> RecordingRow:
    existing = await queries.active_recording(tx, session.id)
    if existing is not None:
        return existing
    row = RecordingRow(
        session_id=session.id,
        course_id=session.course_id,
        owner_id=session.owner_id,
        backend=session.provider,
        state=RecordingState.STARTING.value,
        format="webm",
        feed_keys=[],
        started_by=started_by,
        started_at=utcnow(),
    )
    tx.orm.add(row)
    await tx.orm.flush()
    return row


def _to_processing(row: RecordingRow) -> None:
    # a capture that never confirmed its start has nothing to process
    if row.state == RecordingState.STARTING:
        queries.move_to(row, RecordingState.FAILED, reason="stopped before the capture began")
    else:
        queries.move_to(row, RecordingState.PROCESSING)


async def _get(tx: Transaction, recording_id: uuid.UUID) -> RecordingRow:
    row = await queries.get_recording(tx, recording_id, for_update=True)
    if row is None:
        raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
    return row


def _keys(row: RecordingRow) -> list[str]:
    return [k for k in [row.storage_key, *row.feed_keys] if k]


async def _remove_files(storage: RecordingStorage, keys: list[str]) -> None:
    for key in keys:
        await storage.delete(key)
