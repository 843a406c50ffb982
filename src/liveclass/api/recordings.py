"""Recordings: start/stop a session's recording, list, read, download (with ranges), delete."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from liveclass.api.deps import CallerDep, ServicesDep, actor_of
from liveclass.auth.platform import Caller
from liveclass.control.participants import visible_session
from liveclass.db import recordings
from liveclass.db.recordings import RecordingFilter, RecordingRecord
from liveclass.domain.errors import Conflict, NotFound
from liveclass.domain.recordings import RecordingState
from liveclass.recording import capture, service
from liveclass.recording.errors import ObjectMissing, ServedByStorage

router = APIRouter(tags=["recordings"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "No or invalid bearer token"},
    403: {"description": "The caller may not do this (e.g. NOT_HOST)"},
    404: {"description": "No such session or recording, or not visible to the caller"},
}


class RecordingOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    course_id: str | None
    owner_id: str
    backend: str
    state: RecordingState
    format: str
    size_bytes: int | None
    duration_seconds: float | None
    failure_reason: str | None
    started_at: datetime
    stopped_at: datetime | None
    ready_at: datetime | None
    download_url: str | None


class RecordingList(BaseModel):
    items: list[RecordingOut]
    total: int
    page: int
    page_size: int
    total_pages: int


def _out(rec: RecordingRecord) -> RecordingOut:
    ready = rec.state is RecordingState.READY
    return RecordingOut(
        id=rec.id,
        session_id=rec.session_id,
        course_id=rec.course_id,
        owner_id=rec.owner_id,
        backend=rec.backend,
        state=rec.state,
        format=rec.format,
        size_bytes=rec.size_bytes,
        duration_seconds=rec.duration_ms / 1000 if rec.duration_ms is not None else None,
        failure_reason=rec.failure_reason,
        started_at=rec.started_at,
        stopped_at=rec.stopped_at,
        ready_at=rec.ready_at,
        download_url=f"/api/v1/recordings/{rec.id}/download" if ready else None,
    )


@router.post(
    "/sessions/{session_id}/recording/start",
    response_model=RecordingOut,
    summary="Start recording a live session (host only)",
    responses={**_ERRORS, 409: {"description": "INVALID_STATE: the session is not live"}},
)
async def start(session_id: uuid.UUID, caller: CallerDep, services: ServicesDep) -> RecordingOut:
    return _out(await capture.start(services.recorder, actor_of(caller), session_id))


@router.post(
    "/sessions/{session_id}/recording/stop",
    response_model=RecordingOut,
    summary="Stop the session's recording (host only); it then processes to ready",
    responses={**_ERRORS, 409: {"description": "INVALID_STATE: not live or not recording"}},
)
async def stop(session_id: uuid.UUID, caller: CallerDep, services: ServicesDep) -> RecordingOut:
    return _out(await capture.stop(services.recorder, actor_of(caller), session_id))


@router.get(
    "/recordings",
    response_model=RecordingList,
    summary="Recordings the caller may see",
    responses={401: _ERRORS[401]},
)
async def list_recordings(
    caller: CallerDep,
    services: ServicesDep,
    session_id: uuid.UUID | None = None,
    course_id: Annotated[str | None, Query(max_length=128)] = None,
    owner_id: Annotated[str | None, Query(max_length=128)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RecordingList:
    visible_to = None if caller.is_admin else caller.user_id
    f = RecordingFilter(session_id, course_id, owner_id, visible_to)
    async with services.db.reader() as r:
        found = await recordings.page(r, f=f, page=page, page_size=page_size)
    return RecordingList(
        items=[_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
        total_pages=found.total_pages,
    )


async def _visible_recording(
    services: ServicesDep, caller: Caller, recording_id: uuid.UUID
) -> RecordingRecord:
    async with services.db.reader() as r:
        found = await recordings.get(r, recording_id=recording_id)
    if found is None or found.state is RecordingState.DELETED:
        raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
    try:
        await visible_session(services, actor_of(caller), found.session_id)
    except NotFound as exc:
        raise NotFound("No such recording.", code="RECORDING_NOT_FOUND") from exc
    return found


@router.get(
    "/recordings/{recording_id}",
    response_model=RecordingOut,
    summary="One recording",
    responses=_ERRORS,
)
async def get_recording(
    recording_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> RecordingOut:
    return _out(await _visible_recording(services, caller, recording_id))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single satisfiable range, else None (answer 416)."""
    match = _RANGE.match(header.strip())
    if match is None or match[1] == match[2] == "" or size == 0:
        return None
    if match[1] == "":  # suffix: the last N bytes
        length = int(match[2])
        return (max(size - length, 0), size - 1) if length > 0 else None
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)


@router.get(
    "/recordings/{recording_id}/download",
    summary="The class file (WebM; MP4 from LiveKit); supports HTTP Range requests for seeking",
    response_class=StreamingResponse,
    responses={
        **_ERRORS,
        200: {"content": {"video/webm": {}, "video/mp4": {}}, "description": "The whole file"},
        206: {
            "content": {"video/webm": {}, "video/mp4": {}},
            "description": "The requested byte range",
        },
        409: {"description": "RECORDING_NOT_READY"},
        416: {"description": "The range cannot be satisfied"},
    },
)
async def download(
    recording_id: uuid.UUID,
    caller: CallerDep,
    services: ServicesDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    found = await _visible_recording(services, caller, recording_id)
    if found.state is not RecordingState.READY or found.storage_key is None:
        raise Conflict(f"The recording is {found.state}, not ready.", code="RECORDING_NOT_READY")
    key = found.storage_key
    storage = services.recorder.storage
    try:
        size = await storage.size(key)
    except ObjectMissing as exc:
        raise NotFound("The recording's file is gone.", code="RECORDING_NOT_FOUND") from exc
    except ServedByStorage as exc:
        raise Conflict(
            "This recording is served by its storage: download it from the session's "
            "recording_url.",
            code="RECORDING_SERVED_BY_STORAGE",
        ) from exc
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="recording-{found.id}.{found.format}"',
        "Content-Type": _MEDIA_TYPES.get(found.format, "application/octet-stream"),
    }
    if range_header is None:
        return _stream(storage.open_range(key), 200, size, headers)
    span = parse_range(range_header, size)
    if span is None:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _stream(storage.open_range(key, start, end), 206, end - start + 1, headers)


def _stream(
    chunks: AsyncIterator[bytes], status: int, length: int, headers: dict[str, str]
) -> StreamingResponse:
    media_type = headers.pop("Content-Type")
    headers = {**headers, "Content-Length": str(length)}
    return StreamingResponse(chunks, status_code=status, media_type=media_type, headers=headers)


_MEDIA_TYPES = {"webm": "video/webm", "mp4": "video/mp4"}


@router.delete(
    "/recordings/{recording_id}",
    status_code=204,
    summary="Delete a recording (host/admin)",
    responses={**_ERRORS, 409: {"description": "INVALID_STATE: stop it first"}},
)
async def delete(recording_id: uuid.UUID, caller: CallerDep, services: ServicesDep) -> Response:
    await _visible_recording(services, caller, recording_id)
    await service.delete_recording(services.recorder, actor_of(caller), recording_id)
    return Response(status_code=204)
