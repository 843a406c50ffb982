"""Queries over recordings."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select

from liveclass.db.database import Transaction
from liveclass.db.sessions import let_in
from liveclass.db.tables import LiveSessionRow, RecordingRow
from liveclass.db.types import utcnow
from liveclass.domain.recordings import ACTIVE, RecordingState, check_transition


async def get_recording(
    tx: Transaction, recording_id: uuid.UUID, *, for_update: bool = False
) -> RecordingRow | None:
    query = select(RecordingRow).where(RecordingRow.id == recording_id)
    if for_update:
        query = query.with_for_update()
    return (await tx.orm.scalars(query)).one_or_none()


async def active_recording(tx: Transaction, session_id: uuid.UUID) -> RecordingRow | None:
    """The session's recording that is still capturing, if any (at most one)."""
    query = (
        select(RecordingRow)
        .where(RecordingRow.session_id == session_id)
        .where(RecordingRow.state.in_([s.value for s in ACTIVE]))
        .order_by(RecordingRow.started_at.desc())
        .limit(1)
    )
    return (await tx.orm.scalars(query)).one_or_none()


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    session_id: uuid.UUID | None = None
    course_id: str | None = None
    owner_id: str | None = None
    # Only recordings of these sessions (what the caller may see); None means all.
    visible_sessions: Select[uuid.UUID] | None = None


def _filtered(f: RecordingFilter) -> Select[RecordingRow]:
    query = select(RecordingRow).where(RecordingRow.state != RecordingState.DELETED.value)
    if f.session_id is not None:
        query = query.where(RecordingRow.session_id == f.session_id)
    if f.course_id is not None:
        query = query.where(RecordingRow.course_id == f.course_id)
    if f.owner_id is not None:
        query = query.where(RecordingRow.owner_id == f.owner_id)
    if f.visible_sessions is not None:
        query = query.where(RecordingRow.session_id.in_(f.visible_sessions))
    return query


@dataclass(frozen=True, slots=True)
class RecordingPage:
    items: list[RecordingRow]
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0


async def list_recordings(
    tx: Transaction, f: RecordingFilter, *, page: int, page_size: int
) -> RecordingPage:
    query = _filtered(f)
    total = await tx.orm.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await tx.orm.scalars(
        query.order_by(RecordingRow.started_at.desc(), RecordingRow.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return RecordingPage(list(rows), total, page, page_size)


async def expired_recordings(tx: Transaction, *, before: datetime) -> list[RecordingRow]:
    """Finished recordings started before ``before`` (retention), oldest first."""
    query = (
        select(RecordingRow)
        .where(RecordingRow.started_at < before)
        .where(RecordingRow.state.in_([RecordingState.READY.value, RecordingState.FAILED.value]))
        .order_by(RecordingRow.started_at)
    )
    return list(await tx.orm.scalars(query))


def move_to(row: RecordingRow, target: RecordingState, *, reason: str | None = None) -> None:
    """Apply a legal state change to ``row`` and stamp the time it happened."""
    check_transition(RecordingState(row.state), target)
    row.state = target.value
    now = utcnow()
    if target is RecordingState.PROCESSING:
        row.stopped_at = now
    elif target is RecordingState.READY:
        row.ready_at = now
    elif target is RecordingState.FAILED:
        row.stopped_at = row.stopped_at or now
        row.failure_reason = (reason or "unknown failure")[:2000]
    elif target is RecordingState.DELETED:
        row.deleted_at = now


def sessions_visible_to(user_id: str) -> Select[uuid.UUID]:
    """Ids of the sessions ``user_id`` may see: public ones, their own, and those they were
    let into (kicked and denied people are out, as for ``access.may_see``)."""
    return select(LiveSessionRow.id).where(
        or_(
            LiveSessionRow.is_public.is_(True),
            LiveSessionRow.owner_id == user_id,
            LiveSessionRow.id.in_(let_in(user_id)),
        )
    )
