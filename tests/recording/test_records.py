"""Recordings as frozen records (db/recordings.py): read back by column name with their state
typed, and changed only through the one checked move, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid

import httpx
import pytest
from fastapi import FastAPI

from liveclass.db import recordings
from liveclass.db.recordings import RecordingRecord
from liveclass.db.tables import RECORDINGS
from liveclass.domain.actors import Actor
from liveclass.domain.errors import InvalidState, NotFound
from liveclass.domain.recordings import RecordingState
from liveclass.recording import service
from liveclass.services import Services
from tests.api.helpers import live_session
from tests.conftest import Platform

pytestmark = pytest.mark.recording

HOST = "teacher-1"


async def _opened(app: FastAPI, client: httpx.AsyncClient, platform: Platform) -> RecordingRecord:
    services: Services = app.state.services
    live = await live_session(client, platform, HOST)
    host = Actor(user_id=HOST, name=HOST)
    return await service.start_recording(services.recorder, host, uuid.UUID(live["id"]))


async def _read(app: FastAPI, recording_id: uuid.UUID) -> RecordingRecord:
    services: Services = app.state.services
    async with services.db.reader() as r:
        found = await recordings.get(r, recording_id=recording_id)
    assert found is not None
    return found


async def test_a_recording_reads_back_as_a_frozen_record_of_every_column(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    opened = await _opened(app, client, platform)
    found = await _read(app, opened.id)
    assert found == opened  # what was inserted is what is read, column for column
    assert found.state is RecordingState.STARTING
    assert found.feed_keys == []
    assert found.started_at.tzinfo is not None
    names = {f.name for f in dataclasses.fields(RecordingRecord)}
    assert names == {c.name for c in RECORDINGS.columns}
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.state = RecordingState.READY  # type: ignore[misc]


async def test_a_move_from_a_state_the_recording_has_left_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    opened = await _opened(app, client, platform)
    await service.mark_recording(services.recorder, opened.id)  # now recording
    # a writer that read it while it was still starting: legal from there, but stale
    with pytest.raises(InvalidState):
        async with services.db.transaction() as tx:
            await recordings.move(
                tx,
                recording_id=opened.id,
                to=RecordingState.FAILED,
                reason="late",
                was=RecordingState.STARTING,
            )
    found = await _read(app, opened.id)
    assert found.state is RecordingState.RECORDING
    assert found.failure_reason is None
    assert found.stopped_at is None


async def test_an_illegal_move_is_refused(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    opened = await _opened(app, client, platform)
    with pytest.raises(InvalidState):
        async with services.db.transaction() as tx:
            await recordings.move(tx, recording_id=opened.id, to=RecordingState.READY)
    assert (await _read(app, opened.id)).state is RecordingState.STARTING
    with pytest.raises(NotFound):
        async with services.db.transaction() as tx:
            await recordings.move(tx, recording_id=uuid.uuid4(), to=RecordingState.FAILED)


async def test_a_failure_while_processing_keeps_when_the_capture_stopped(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    opened = await _opened(app, client, platform)
    host = Actor(user_id=HOST, name=HOST)
    await service.mark_recording(services.recorder, opened.id)
    stopped = await service.stop_recording(services.recorder, host, opened.session_id)
    assert stopped.state is RecordingState.PROCESSING
    assert stopped.stopped_at is not None
    assert stopped.updated_at >= opened.updated_at
    failed = await service.fail(services.recorder, opened.id, "x" * 5000)
    assert failed.state is RecordingState.FAILED
    assert failed.stopped_at == stopped.stopped_at
    assert failed.failure_reason == "x" * recordings.REASON_LIMIT
    assert await _read(app, opened.id) == failed
