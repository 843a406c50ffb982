"""Capturing a class while its recording is on, for both kinds of media backend.

- Janus records every feed itself (``MediaBackend.start_recording`` returns True): on stop,
  ``janus_post`` converts and muxes the ``.mjr`` files into storage.
- Mesh media passes no server, so a recorder process joins the room as a hidden peer
  (``mesh_capture``); on stop it finishes its WebM files and they go to storage.
- LiveKit's egress writes one MP4 into the recording storage itself
  (``MediaBackend.stores_recordings``): start and stop are calls to LiveKit from any node,
  and its webhooks make the recording ready (``control.livekit_events``).

These are the recording use cases the API calls, and ``SessionRecording`` follows the
session lifecycle (``is_recorded`` sessions record from their start, every recording stops
when its class ends); ``service`` keeps the records exact, this module drives the capture and
tells the room (``recording_state``). A capture that breaks fails its recording; the class
goes on. Captures run on the node that started them (``Recorder.captures``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from liveclass.db import recordings
from liveclass.db.recordings import RecordingRecord
from liveclass.db.sessions import SessionRecord, get_session
from liveclass.domain.actors import Actor
from liveclass.domain.errors import DomainError, NotFound
from liveclass.domain.lifecycle import SessionEnded, SessionStarted
from liveclass.domain.recordings import RecordingState
from liveclass.media.backend import MediaBackend, MediaRoom
from liveclass.recording import service
from liveclass.recording.errors import RecordingError
from liveclass.recording.janus_post import PostResult, process_janus_recording
from liveclass.recording.mesh_capture import CaptureOutcome, MeshCapture, WorkerLaunch, store_staged
from liveclass.recording.mesh_worker import media_duration_ms
from liveclass.recording.recorder import Capture, Recorder

log = logging.getLogger(__name__)


async def start(recorder: Recorder, actor: Actor, session_id: uuid.UUID) -> RecordingRecord:
    """``POST .../recording/start``: open the recording and start capturing."""
    opened = await service.start_recording(recorder, actor, session_id)
    return await _begin(recorder, opened)


async def stop(recorder: Recorder, actor: Actor, session_id: uuid.UUID) -> RecordingRecord:
    """``POST .../recording/stop``: the recording goes to processing, then ready or failed."""
    stopped = await service.stop_recording(recorder, actor, session_id)
    await _end(recorder, stopped)
    return stopped


@dataclass(frozen=True, slots=True)
class SessionRecording:
    """Follows the session lifecycle (a ``SessionListener``): ``is_recorded`` sessions
    record from their start; a class that ends stops its recording before its room closes."""

    recorder: Recorder

    async def session_started(self, event: SessionStarted) -> None:
        opened = await service.on_session_started(self.recorder, event)
        if opened is not None:
            await _begin(self.recorder, opened)

    async def session_ended(self, event: SessionEnded) -> None:
        stopped = await service.on_session_ended(self.recorder, event.session_id)
        if stopped is not None:
            await _end(self.recorder, stopped)


async def shutdown(recorder: Recorder) -> None:
    """The node is stopping: recordings it was capturing cannot be finished."""
    for recording_id, capture in recorder.captures.running():
        capture.abort()
        await _failed(recorder, recording_id, "the server stopped while recording")


# -- beginning and ending ------------------------------------------------------------------


async def _begin(recorder: Recorder, opened: RecordingRecord) -> RecordingRecord:
    if opened.id in recorder.captures or opened.state is not RecordingState.STARTING:
        return opened  # a start for a recording already under way
    async with recorder.db.transaction() as tx:
        session = await get_session(tx, session_id=opened.session_id)
    assert session is not None  # the recording was just opened for it
    backend = recorder.backend(session.provider)
    if backend.stores_recordings:
        return await _begin_on_provider(recorder, backend, session, opened)
    work_dir = _work_dir(recorder, opened.id)
    try:
        capture = await _capture_for(recorder, session, opened, work_dir)
    except (DomainError, RecordingError, OSError) as exc:
        reason = getattr(exc, "detail", None) or str(exc)
        failed = await _failed(recorder, opened.id, f"the capture could not start: {reason}")
        return failed or opened
    recorder.captures.add(opened.id, capture)
    await _announce(recorder, opened)
    return opened


async def _capture_for(
    recorder: Recorder, session: SessionRecord, opened: RecordingRecord, work_dir: Path
) -> Capture:
    backend = recorder.backend(session.provider)
    room = _room_of(session)
    janus_dir = work_dir / "janus"
    janus_dir.mkdir(parents=True, exist_ok=True)
    if room is not None and await backend.start_recording(room, janus_dir):
        await service.mark_recording(recorder, opened.id)
        return ServerCapture(recorder, opened.id, backend, room, work_dir)
    return await _spawn_recorder(recorder, session, opened, work_dir)


async def _spawn_recorder(
    recorder: Recorder, session: SessionRecord, opened: RecordingRecord, work_dir: Path
) -> MeshCapture:
    settings = recorder.settings
    # valid for the whole class (and its overrun), since a reconnect needs it too
    ttl = session.duration_minutes * 60 + 6 * 3600
    token = recorder.issuer.recorder_token(
        session_id=session.id, recorder_id=opened.id, ttl_seconds=ttl
    )
    ws_url = settings.internal_base_url.replace("http", "ws", 1)
    launch = WorkerLaunch(
        ws_url=f"{ws_url}/api/v1/sessions/{session.id}/ws",
        token=token,
        work_dir=work_dir,
        ice_addresses=list(settings.recorder_ice_addresses),
    )
    recording_id = opened.id

    async def joined() -> None:
        await service.mark_recording(recorder, recording_id)

    async def done(outcome: CaptureOutcome) -> None:
        await _mesh_done(recorder, recording_id, launch.work_dir, outcome)

    return await MeshCapture.spawn(launch, on_joined=joined, on_done=done)


async def _begin_on_provider(
    recorder: Recorder, backend: MediaBackend, session: SessionRecord, opened: RecordingRecord
) -> RecordingRecord:
    """The provider records into storage under the recording's key: the recording is
    ``recording`` once it accepted, ``ready`` when its webhook reports the file."""
    room = _room_of(session)
    try:
        if room is None:
            raise RecordingError("the session has no media room")
        await backend.start_recording(
            room, _work_dir(recorder, opened.id), key=provider_key(opened)
        )
    except (DomainError, RecordingError) as exc:
        reason = getattr(exc, "detail", None) or str(exc)
        failed = await _failed(recorder, opened.id, f"the recording could not start: {reason}")
        return failed or opened
    await service.mark_recording(recorder, opened.id)
    async with recorder.db.reader() as conn:
        now = await recordings.get(conn, recording_id=opened.id)
    await _announce(recorder, now or opened)
    return now or opened


def provider_key(recording: RecordingRecord) -> str:
    """The storage key a provider writes a recording's file under."""
    return f"{recording.id}/{recording.backend}.mp4"


async def _stop_on_provider(recorder: Recorder, stopped: RecordingRecord) -> None:
    async with recorder.db.reader() as conn:
        session = await get_session(conn, session_id=stopped.session_id)
    room = _room_of(session) if session is not None else None
    if room is None:
        return
    try:
        await recorder.backend(stopped.backend).stop_recording(room)
    except DomainError as exc:
        # the egress ends with the room at the latest; its webhook still reports the file
        log.warning("could not stop the provider's recording: %s", exc.detail)


async def _end(recorder: Recorder, stopped: RecordingRecord) -> None:
    if _stored_by_provider(recorder, stopped):
        await _announce(recorder, stopped)
        await _stop_on_provider(recorder, stopped)
        return
    capture = recorder.captures.get(stopped.id)
    await _announce(recorder, stopped)
    if capture is None:
        return
    if stopped.state is RecordingState.FAILED:  # stopped before the capture began
        recorder.captures.drop(stopped.id)
        capture.abort()
        return
    await capture.stop()


# -- outcomes ------------------------------------------------------------------------------


async def _mesh_done(
    recorder: Recorder, recording_id: uuid.UUID, work_dir: Path, outcome: CaptureOutcome
) -> None:
    recorder.captures.drop(recording_id)
    if outcome.result is None:
        assert outcome.error is not None
        await _failed(recorder, recording_id, str(outcome.error))
        return
    await service.mark_stopped(recorder, recording_id)
    try:
        stored = await store_staged(
            outcome.result,
            work_dir / "out",
            recorder.storage,
            key_prefix=str(recording_id),
        )
    except RecordingError as exc:
        await _failed(recorder, recording_id, str(exc))
        return
    await _ready(recorder, recording_id, stored, outcome.duration_ms, work_dir)


@dataclass
class ServerCapture:
    """A media server (Janus) records the feeds into ``work_dir/janus``."""

    recorder: Recorder
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
        recorder, recording_id = self.recorder, self.recording_id
        try:
            result = await process_janus_recording(
                self.work_dir / "janus",
                self.work_dir / "post",
                recorder.storage,
                key_prefix=str(recording_id),
            )
        except RecordingError as exc:
            await _failed(recorder, recording_id, str(exc))
            return
        finally:
            recorder.captures.drop(recording_id)
        duration = media_duration_ms(self.work_dir / "post" / f"{result.main_feed}.webm")
        await _ready(recorder, recording_id, result, duration, self.work_dir)

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()


async def _ready(
    recorder: Recorder,
    recording_id: uuid.UUID,
    result: PostResult,
    duration_ms: int | None,
    work_dir: Path,
) -> None:
    finished = await service.finish(recorder, recording_id, result, duration_ms=duration_ms)
    await _announce(recorder, finished)
    # the stored copies are the recording now; the capture files only took disk space
    await asyncio.to_thread(shutil.rmtree, work_dir, True)


async def _failed(
    recorder: Recorder, recording_id: uuid.UUID, reason: str
) -> RecordingRecord | None:
    log.warning("recording %s failed: %s", recording_id, reason)
    try:
        failed = await service.fail(recorder, recording_id, reason)
    except NotFound:
        return None  # purged meanwhile: nothing left to mark
    await _announce(recorder, failed)
    return failed


async def _announce(recorder: Recorder, recording: RecordingRecord) -> None:
    await recorder.room_events.recording_changed(
        recording.session_id, recording.id, recording.state
    )


def _stored_by_provider(recorder: Recorder, recording: RecordingRecord) -> bool:
    backend = recorder.backends.get(recording.backend)
    return backend is not None and backend.stores_recordings


def _work_dir(recorder: Recorder, recording_id: uuid.UUID) -> Path:
    # absolute: Janus and the recorder process do not share our working directory
    return Path(os.path.abspath(recorder.settings.recording_work_dir)) / str(recording_id)


def _room_of(session: SessionRecord) -> MediaRoom | None:
    stored = session.media_room
    if not stored:
        return None
    return MediaRoom(
        backend=stored["backend"], server=stored.get("server"), data=stored.get("data", {})
    )
