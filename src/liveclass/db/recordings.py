"""Recordings: frozen ``RecordingRecord``s, and the statements that read and write them.

A recording's state changes only through ``move``: the domain's transition check, then an
UPDATE conditional on the state it was checked from, so two writers cannot both move the
same recording out of one state.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, update

from liveclass.db.database import Reader, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.sessions import let_in
from liveclass.db.tables import RECORDINGS, SESSIONS
from liveclass.db.types import utcnow
from liveclass.domain.errors import InvalidState, NotFound
from liveclass.domain.recordings import ACTIVE, FINISHED, RecordingState, check_transition

_R = RECORDINGS.c

# how much of a failure's reason is kept (the column is TEXT; a traceback may be long)
REASON_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    """A row of ``recordings``."""

    id: uuid.UUID
    session_id: uuid.UUID
    course_id: str | None
    owner_id: str
    backend: str
    state: RecordingState
    format: str
    storage_key: str | None
    feed_keys: list[str]
    size_bytes: int | None
    duration_ms: int | None
    failure_reason: str | None
    started_by: str | None
    started_at: datetime
    stopped_at: datetime | None
    ready_at: datetime | None
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def keys(self) -> list[str]:
        """The storage keys of its files: the class file and the per-feed ones."""
        return [k for k in [self.storage_key, *self.feed_keys] if k]


_build = Build(RecordingRecord)


def opened(
    *,
    session_id: uuid.UUID,
    course_id: str | None,
    owner_id: str,
    backend: str,
    started_by: str | None,
    format: str = "webm",
) -> RecordingRecord:
    """A new recording of a session, ``starting``, for ``insert``."""
    now = utcnow()
    return RecordingRecord(
        id=uuid.uuid4(),
        session_id=session_id,
        course_id=course_id,
        owner_id=owner_id,
        backend=backend,
        state=RecordingState.STARTING,
        format=format,
        storage_key=None,
        feed_keys=[],
        size_bytes=None,
        duration_ms=None,
        failure_reason=None,
        started_by=started_by,
        started_at=now,
        stopped_at=None,
        ready_at=None,
        deleted_at=None,
        created_at=now,
        updated_at=now,
    )


# -- reads ---------------------------------------------------------------------------------


async def get(
    db: Reader, *, recording_id: uuid.UUID, for_update: bool = False
) -> RecordingRecord | None:
    query = select(RECORDINGS).where(_R.id == recording_id)
    if for_update:
        query = query.with_for_update()
    return _build.maybe(await db.one(query))


async def active(db: Reader, *, session_id: uuid.UUID) -> RecordingRecord | None:
    """The session's recording that is still capturing, if any (at most one)."""
    query = (
        select(RECORDINGS)
        .where(_R.session_id == session_id, _in_states(ACTIVE))
        .order_by(_R.started_at.desc())
        .limit(1)
    )
    return _build.maybe(await db.one(query))


async def latest_of(
    db: Reader, *, session_id: uuid.UUID, states: frozenset[RecordingState]
) -> RecordingRecord | None:
    """The session's newest recording in one of ``states``."""
    query = (
        select(RECORDINGS)
        .where(_R.session_id == session_id, _in_states(states))
        .order_by(_R.started_at.desc())
        .limit(1)
    )
    return _build.maybe(await db.one(query))


async def expired(db: Reader, *, before: datetime) -> list[RecordingRecord]:
    """Finished recordings started before ``before`` (retention), oldest first."""
    query = (
        select(RECORDINGS)
        .where(_R.started_at < before, _in_states(FINISHED))
        .order_by(_R.started_at)
    )
    return [_build(row) for row in await db.all(query)]


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    session_id: uuid.UUID | None = None
    course_id: str | None = None
    owner_id: str | None = None
    # Only recordings of the sessions this user may see; None means all (an admin).
    visible_to: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingPage:
    items: list[RecordingRecord]
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0


async def page(db: Reader, *, f: RecordingFilter, page: int, page_size: int) -> RecordingPage:
    """One page of the recordings ``f`` selects (newest first) and how many there are."""
    criteria = _criteria(f)
    total = await db.value(select(func.count()).select_from(RECORDINGS).where(*criteria))
    query = (
        select(RECORDINGS)
        .where(*criteria)
        .order_by(_R.started_at.desc(), _R.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [_build(row) for row in await db.all(query)]
    return RecordingPage(items, int(total or 0), page, page_size)


def _criteria(f: RecordingFilter) -> list[ColumnElement[bool]]:
    criteria = [_R.state != RecordingState.DELETED.value]
    if f.session_id is not None:
        criteria.append(_R.session_id == f.session_id)
    if f.course_id is not None:
        criteria.append(_R.course_id == f.course_id)
    if f.owner_id is not None:
        criteria.append(_R.owner_id == f.owner_id)
    if f.visible_to is not None:
        criteria.append(_R.session_id.in_(_sessions_visible_to(f.visible_to)))
    return criteria


def _sessions_visible_to(user_id: str) -> Select[Any]:
    """Ids of the sessions ``user_id`` may see: public ones, their own, and those they were
    let into (kicked and denied people are out, as for ``access.may_see``)."""
    s = SESSIONS.c
    return select(s.id).where(
        or_(s.is_public.is_(True), s.owner_id == user_id, s.id.in_(let_in(user_id)))
    )


def _in_states(states: frozenset[RecordingState]) -> ColumnElement[bool]:
    return _R.state.in_([state.value for state in sorted(states)])


# -- writes --------------------------------------------------------------------------------


async def insert(tx: Tx, *, recording: RecordingRecord) -> None:
    await tx.run(RECORDINGS.insert().values(values_of(recording)))


async def move(
    tx: Tx,
    *,
    recording_id: uuid.UUID,
    to: RecordingState,
    reason: str | None = None,
    was: RecordingState | None = None,
) -> RecordingRecord:
    """Move the recording to ``to`` and stamp when (``stopped_at``, ``ready_at``,
    ``deleted_at``; a failure keeps ``reason``); the recording as it is now.

    ``was`` is the state the caller read it in (read here when not given). Raises
    ``NotFound`` for no such recording and ``InvalidState`` for a step the domain does not
    allow, or when the recording is no longer in ``was``.
    """
    if was is None:
        current = await get(tx, recording_id=recording_id, for_update=True)
        if current is None:
            raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")
        was = current.state
    check_transition(was, to)
    query = (
        update(RECORDINGS)
        .where(_R.id == recording_id, _R.state == was.value)
        .values(state=to.value, **_stamps(to, reason))
        .returning(*RECORDINGS.c)
    )
    moved = _build.maybe(await tx.one(query))
    if moved is None:
        raise InvalidState(f"The recording is no longer {was.value}; it cannot become {to.value}.")
    return moved


def _stamps(to: RecordingState, reason: str | None) -> dict[str, Any]:
    now = utcnow()
    stamps: dict[str, Any] = {"updated_at": now}
    if to is RecordingState.PROCESSING:
        stamps["stopped_at"] = now
    elif to is RecordingState.READY:
        stamps["ready_at"] = now
    elif to is RecordingState.FAILED:
        # a recording that fails while processing stopped capturing before
        stamps["stopped_at"] = func.coalesce(_R.stopped_at, literal(now, _R.stopped_at.type))
        stamps["failure_reason"] = (reason or "unknown failure")[:REASON_LIMIT]
    elif to is RecordingState.DELETED:
        stamps["deleted_at"] = now
    return stamps


async def set_output(
    tx: Tx,
    *,
    recording_id: uuid.UUID,
    storage_key: str,
    size_bytes: int,
    feed_keys: list[str],
    duration_ms: int | None,
) -> None:
    """Where the recording's files are stored, their size and the class's length."""
    query = (
        update(RECORDINGS)
        .where(_R.id == recording_id)
        .values(
            storage_key=storage_key,
            size_bytes=size_bytes,
            feed_keys=feed_keys,
            duration_ms=duration_ms,
            updated_at=utcnow(),
        )
    )
    if await tx.run(query) == 0:
        raise NotFound("No such recording.", code="RECORDING_NOT_FOUND")


async def delete(tx: Tx, *, recording_id: uuid.UUID) -> None:
    """Remove the row itself (retention; a recording deleted by its host keeps its row, in
    state ``deleted``, as an audit trail)."""
    await tx.run(RECORDINGS.delete().where(_R.id == recording_id))
