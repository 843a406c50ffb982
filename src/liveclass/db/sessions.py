"""Queries over live sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from liveclass.db.database import Transaction
from liveclass.db.tables import LiveSessionRow, ParticipantRow


async def get_session(
    tx: Transaction, session_id: uuid.UUID, *, for_update: bool = False
) -> LiveSessionRow | None:
    query = select(LiveSessionRow).where(LiveSessionRow.id == session_id)
    if for_update:
        # PostgreSQL serialises joins on the session row; SQLite already holds the
        # database write lock for the whole transaction (BEGIN IMMEDIATE).
        query = query.with_for_update()
    return (await tx.scalars(query)).one_or_none()


async def get_by_booking(tx: Transaction, booking_id: str) -> LiveSessionRow | None:
    query = select(LiveSessionRow).where(LiveSessionRow.booking_id == booking_id)
    return (await tx.scalars(query)).one_or_none()


async def insert_session(tx: Transaction, row: LiveSessionRow) -> bool:
    """Insert ``row``; False when its booking_id was taken meanwhile (a concurrent create)."""
    try:
        async with tx.begin_nested():
            tx.add(row)
    except IntegrityError:
        if row.booking_id is None:
            raise
        return False
    return True


@dataclass(frozen=True, slots=True)
class SessionFilter:
    visible_to: str | None  # None: everything (admin)
    course_id: str | None = None
    owner_id: str | None = None
    status: str | None = None
    session_type: str | None = None
    is_public: bool | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    search: str | None = None


_SORTS = {
    "scheduled_at": LiveSessionRow.scheduled_at,
    "created_at": LiveSessionRow.created_at,
    "title": LiveSessionRow.title,
}
SORT_KEYS = tuple(_SORTS) + tuple(f"-{k}" for k in _SORTS)


def _filtered(f: SessionFilter) -> Select[LiveSessionRow]:
    query = select(LiveSessionRow)
    if f.visible_to is not None:
        mine = select(ParticipantRow.session_id).where(ParticipantRow.user_id == f.visible_to)
        query = query.where(
            or_(
                LiveSessionRow.is_public.is_(True),
                LiveSessionRow.owner_id == f.visible_to,
                LiveSessionRow.id.in_(mine),
            )
        )
    equal = {
        LiveSessionRow.course_id: f.course_id,
        LiveSessionRow.owner_id: f.owner_id,
        LiveSessionRow.status: f.status,
        LiveSessionRow.session_type: f.session_type,
        LiveSessionRow.is_public: f.is_public,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.scheduled_from is not None:
        query = query.where(LiveSessionRow.scheduled_at >= f.scheduled_from)
    if f.scheduled_to is not None:
        query = query.where(LiveSessionRow.scheduled_at <= f.scheduled_to)
    if f.search:
        escaped = f.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(LiveSessionRow.title).like(f"%{escaped}%", escape="\\"))
    return query


async def list_sessions(
    tx: Transaction, f: SessionFilter, *, sort: str, offset: int, limit: int
) -> tuple[list[LiveSessionRow], int]:
    query = _filtered(f)
    column = _SORTS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    # the page and the total in one round trip; a page past the end has no row to carry it
    counted = query.add_columns(func.count().over().label("total"))
    result = await tx.execute(
        counted.order_by(order, LiveSessionRow.id).offset(offset).limit(limit)
    )
    page = result.all()
    if page:
        return [row for row, _ in page], int(page[0][1])
    total = await tx.scalar(select(func.count()).select_from(query.subquery()))
    return [], int(total or 0)


async def live_sessions_past(tx: Transaction, now: datetime) -> list[LiveSessionRow]:
    """Live sessions whose scheduled slot is over (candidates for ending as expired)."""
    rows = await tx.scalars(select(LiveSessionRow).where(LiveSessionRow.status == "live"))
    return [
        r for r in rows if r.scheduled_at.timestamp() + r.duration_minutes * 60 < now.timestamp()
    ]
