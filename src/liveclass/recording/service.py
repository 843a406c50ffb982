"""Recording use cases: start, stop, finish, delete and retention, as the session use cases
and the API call them. Capturing media is the backend's job (Janus records .mjr files; the
mesh recorder process writes WebM); this module keeps the recording row exact and stores
the result.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from liveclass.control.access import require_host
from liveclass.control.actor import Actor
from liveclass.db import recordings as queries
from liveclass.db.database import Transaction
from liveclass.db.sessions import get_session
from liveclass.db.tables import LiveSessionRow, RecordingRow
from liveclass.db.types import utcnow
from liveclass.domain.errors import InvalidState, NotFound
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.recordings import RecordingState
from liveclass.recording.errors import RecordingError
from liveclass.recording.janus_post import PostResult
from liveclass.recording.storage import LocalStorage, RecordingStorage, S3Storage
from liveclass.services import Services


def storage_for(services: Services) -> RecordingStorage:
    """The configured storage: ``RECORDINGS_DIR``, or the S3 bucket of ``RECORDING_STORAGE=s3``.

    One per node, kept on ``services``: an S3 client costs tens of milliseconds to build
    and keeps its connections for the next download."""
    if services.recording_storage is None:
        services.recording_storage = _configured_storage(services)
    return services.recording_storage


def _configured_storage(services: Services) -> RecordingStorage:
    settings = services.settings
    if settings.recording_storage == "local":
        return LocalStorage(Path(settings.recordings_dir))
    assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
    secret = settings.s3_secret_key
    return S3Storage(
        settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key=settings.s3_access_key,
        secret_key=secret.get_secret_value() if secret is not None else None,
    )


async def start_recording(services: Services, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    """Host only, only while live; a second start while one records is a no-op."""
    async with services.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        return await _open(tx, session, started_by=actor.user_id)


async def stop_recording(services: Services, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    async with services.db.transaction() as tx:
        session = await _live_session(tx, session_id)
        require_host(actor, session)
        row = await queries.active_recording(tx, session_id)
        if row is None:
            raise InvalidState("The session is not being recorded.", code="INVALID_STATE")
        _to_processing(row)
        return row


async def on_session_started(services: Services, session: LiveSessionRow) -> RecordingRow | None:
    """Call after a session became live: ``is_recorded`` sessions start recording."""
    if not session.is_recorded:
        return None
    async with services.db.transaction() as tx:
        fresh = await get_session(tx, session.id)
        if fresh is None or fresh.status != SessionStatus.LIVE:
            return None
        return await _open(tx, fresh, started_by=None)


async def on_session_ended(services: Services, session_id: uuid.UUID) -> RecordingRow | None:
    """Call when a session ends: its active recording stops and goes to processing."""
    async with services.db.transaction() as tx:
        row = await queries.active_recording(tx, session_id)
        if row is not None:
            _to_processing(row)
        return row


async def mark_recording(services: Services, recording_id: uuid.UUID) -> None:
    """The capture really began (the recorder or Janus confirmed): ``starting -> recording``."""
    async with services.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state == RecordingState.STARTING:
            queries.move_to(row, RecordingState.RECORDING)


async def mark_stopped(services: Services, recording_id: uuid.UUID) -> None:
    """The capture ended without a stop call (the class ended on another node, or the
    recorder left): the recording goes to processing like after a stop."""
    async with services.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state in (RecordingState.STARTING, RecordingState.RECORDING):
            _to_processing(row)


async def finish(
    services: Services,
    recording_id: uuid.UUID,
    outcome: PostResult | RecordingError,
    *,
    duration_ms: int | None = None,
) -> RecordingRow:
    """Record the post-processing outcome: ``ready`` with the stored file, or ``failed``."""
    async with services.db.transaction() as tx:
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


async def fail(services: Services, recording_id: uuid.UUID, reason: str) -> RecordingRow:
    """The capture broke (recorder crashed, Janus gone): mark it failed; the class goes on."""
    async with services.db.transaction() as tx:
        row = await _get(tx, recording_id)
        if row.state not in (RecordingState.FAILED, RecordingState.DELETED, RecordingState.READY):
            queries.move_to(row, RecordingState.FAILED, reason=reason)
        return row


async def delete_recording(services: Services, actor: Actor, recording_id: uuid.UUID) -> None:
    """Host/admin: remove the files, keep the row as ``deleted`` (an audit trail)."""
    async with services.db.transaction() as tx:
        row = await _get(tx, recording_id)
        session = await get_session(tx, row.session_id)
        if session is None:
            raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
        require_host(actor, session)
        queries.move_to(row, RecordingState.DELETED)
        keys = _keys(row)
    await _remove_files(storage_for(services), keys)


async def purge_expired(services: Services) -> int:
    """Delete finished recordings older than ``recording_retention_days``: files and rows."""
    before = utcnow() - timedelta(days=services.settings.recording_retention_days)
    storage = storage_for(services)
    async with services.db.transaction() as tx:
        rows = await queries.expired_recordings(tx, before=before)
        for row in rows:
            await _remove_files(storage, _keys(row))
            await tx.delete(row)
    return len(rows)


async def _live_session(tx: Transaction, session_id: uuid.UUID) -> LiveSessionRow:
    session = await get_session(tx, session_id, for_update=True)
    if session is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    if session.status != SessionStatus.LIVE:
        raise InvalidState(f"Only a live session can be recorded; this one is {session.status}.")
    return session


async def _open(
    tx: Transaction, session: LiveSessionRow, *, started_by: str | None
) -> RecordingRow:
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
    tx.add(row)
    await tx.flush()
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
