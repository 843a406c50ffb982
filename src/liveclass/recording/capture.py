"""Capturing a class while its recording is on, for both kinds of media backend.

- Janus records every feed itself (``MediaBackend.start_recording`` returns True): on stop,
  ``janus_post`` converts and muxes the ``.mjr`` files into storage.
- Mesh media passes no server, so a recorder process joins the room as a hidden peer
  (``mesh_capture``); on stop it finishes its WebM files and they go to storage.

These are the recording use cases the API and the session use cases call; ``service``
keeps the rows exact, this module drives the capture and tells the room
(``recording_state``). A capture that breaks fails its recording; the class goes on.
Captures run on the node that started them (``Services.captures``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from liveclass.control.actor import Actor
from liveclass.db.sessions import get_session
from liveclass.db.tables import LiveSessionRow, RecordingRow
from liveclass.domain.errors import DomainError, NotFound
from liveclass.domain.recordings import RecordingState
from liveclass.media.backend import MediaBackend, MediaRoom
from liveclass.recording import service
from liveclass.recording.errors import RecordingError
from liveclass.recording.janus_post import PostResult, process_janus_recording
from liveclass.recording.mesh_capture import CaptureOutcome, MeshCapture, WorkerLaunch, store_staged
from liveclass.recording.mesh_worker import media_duration_ms
from liveclass.services import Services

log = logging.getLogger(__name__)


class Capture(Protocol):
    async def stop(self) -> None:
        """Stop capturing; storing the result continues in the background."""
        ...

    def abort(self) -> None:
        """Drop the capture at once (its recording already failed)."""
        ...


async def start(services: Services, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    """``POST .../recording/start``: open the recording and start capturing."""
    row = await service.start_recording(services, actor, session_id)
    return await _begin(services, row)


async def stop(services: Services, actor: Actor, session_id: uuid.UUID) -> RecordingRow:
    """``POST .../recording/stop``: the recording goes to processing, then ready or failed."""
    row = await service.stop_recording(services, actor, session_id)
    await _end(services, row)
    return row


async def session_started(services: Services, session: LiveSessionRow) -> None:
    """``is_recorded`` sessions record from their start."""
    row = await service.on_session_started(services, session)
    if row is not None:
        await _begin(services, row)


async def session_ended(services: Services, session_id: uuid.UUID) -> None:
    row = await service.on_session_ended(services, session_id)
    if row is not None:
        await _end(services, row)


async def shutdown(services: Services) -> None:
    """The node is stopping: recordings it was capturing cannot be finished."""
    for recording_id, capture in list(services.captures.items()):
        capture.abort()
        await _failed(services, recording_id, "the server stopped while recording")


# -- beginning and ending ------------------------------------------------------------------


async def _begin(services: Services, row: RecordingRow) -> RecordingRow:
    if row.id in services.captures or row.state != RecordingState.STARTING:
        return row  # a start for a recording already under way
    async with services.db.transaction() as tx:
        session = await get_session(tx, row.session_id)
    assert session is not None  # the recording row was just made for it
    work_dir = _work_dir(services, row.id)
    try:
        capture = await _capture_for(services, session, row, work_dir)
    except (DomainError, RecordingError, OSError) as exc:
        reason = getattr(exc, "detail", None) or str(exc)
        return await _failed(services, row.id, f"the capture could not start: {reason}") or row
    services.captures[row.id] = capture
    await _announce(services, row)
    return row


async def _capture_for(
    services: Services, session: LiveSessionRow, row: RecordingRow, work_dir: Path
) -> Capture:
    backend = services.backend(session.provider)
    room = _room_of(session)
    janus_dir = work_dir / "janus"
    janus_dir.mkdir(parents=True, exist_ok=True)
    if room is not None and await backend.start_recording(room, janus_dir):
        await service.mark_recording(services, row.id)
        return ServerCapture(services, row.id, backend, room, work_dir)
    return await _spawn_recorder(services, session, row, work_dir)


async def _spawn_recorder(
    services: Services, session: LiveSessionRow, row: RecordingRow, work_dir: Path
) -> MeshCapture:
    settings = services.settings
    # valid for the whole class (and its overrun), since a reconnect needs it too
    ttl = session.duration_minutes * 60 + 6 * 3600
    token = services.issuer.recorder_token(
        session_id=session.id, recorder_id=row.id, ttl_seconds=ttl
    )
    ws_url = settings.internal_base_url.replace("http", "ws", 1)
    launch = WorkerLaunch(
        ws_url=f"{ws_url}/api/v1/sessions/{session.id}/ws",
        token=token,
        work_dir=work_dir,
        ice_addresses=list(settings.recorder_ice_addresses),
    )
    recording_id = row.id

    async def joined() -> None:
        await service.mark_recording(services, recording_id)

    async def done(outcome: CaptureOutcome) -> None:
        await _mesh_done(services, recording_id, launch.work_dir, outcome)

    return await MeshCapture.spawn(launch, on_joined=joined, on_done=done)


async def _end(services: Services, row: RecordingRow) -> None:
    capture = services.captures.get(row.id)
    await _announce(services, row)
    if capture is None:
        return
    if row.state == RecordingState.FAILED:  # stopped before the capture began
        services.captures.pop(row.id, None)
        capture.abort()
        return
    await capture.stop()


# -- outcomes ------------------------------------------------------------------------------


async def _mesh_done(
    services: Services, recording_id: uuid.UUID, work_dir: Path, outcome: CaptureOutcome
) -> None:
    services.captures.pop(recording_id, None)
    if outcome.result is None:
        assert outcome.error is not None
        await _failed(services, recording_id, str(outcome.error))
        return
    await service.mark_stopped(services, recording_id)
    try:
        stored = await store_staged(
            outcome.result,
            work_dir / "out",
            service.storage_for(services),
            key_prefix=str(recording_id),
        )
    except RecordingError as exc:
        await _failed(services, recording_id, str(exc))
        return
    await _ready(services, recording_id, stored, outcome.duration_ms, work_dir)


@dataclass
class ServerCapture:
    """A media server (Janus) records the feeds into ``work_dir/janus``."""

    services: Services
    recording_id: uuid.UUID
    backend: MediaBackend
    room: MediaRoom
    work_dir: Path
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def stop(self) -> None:
        try:
            await self.backend.stop_recording(self.room)
        except DomainError as exc:
            # the server may still have written files; try them before giving up
            log.warning("could not stop recording on the media server: %s", exc.detail)
        self.task = asyncio.create_task(self._process(), name=f"recording-{self.recording_id}")

    def abort(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _process(self) -> None:
        services, recording_id = self.services, self.recording_id
        try:
            result = await process_janus_recording(
                self.work_dir / "janus",
                self.work_dir / "post",
                service.storage_for(services),
                key_prefix=str(recording_id),
            )
        except RecordingError as exc:
            await _failed(services, recording_id, str(exc))
            return
        finally:
            services.captures.pop(recording_id, None)
        duration = media_duration_ms(self.work_dir / "post" / f"{result.main_feed}.webm")
        await _ready(services, recording_id, result, duration, self.work_dir)

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()


async def _ready(
    services: Services,
    recording_id: uuid.UUID,
    result: PostResult,
    duration_ms: int | None,
    work_dir: Path,
) -> None:
    row = await service.finish(services, recording_id, result, duration_ms=duration_ms)
    await _announce(services, row)
    # the stored copies are the recording now; the capture files only took disk space
    await asyncio.to_thread(shutil.rmtree, work_dir, True)


async def _failed(services: Services, recording_id: uuid.UUID, reason: str) -> RecordingRow | None:
    log.warning("recording %s failed: %s", recording_id, reason)
    try:
        row = await service.fail(services, recording_id, reason)
    except NotFound:
        return None  # purged meanwhile: nothing left to mark
    await _announce(services, row)
    return row


async def _announce(services: Services, row: RecordingRow) -> None:
    await services.room_events.recording_changed(row.session_id, row.id, row.state)


def _work_dir(services: Services, recording_id: uuid.UUID) -> Path:
    # absolute: Janus and the recorder process do not share our working directory
    return Path(os.path.abspath(services.settings.recording_work_dir)) / str(recording_id)


def _room_of(session: LiveSessionRow) -> MediaRoom | None:
    stored = session.media_room
    if not stored:
        return None
    return MediaRoom(
        backend=stored["backend"], server=stored.get("server"), data=stored.get("data", {})
    )
