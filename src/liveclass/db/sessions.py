"""Queries over live sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, or_, select
from sqlalchemy.exc import IntegrityError

from liveclass.db.database import Connection, Transaction
from liveclass.db.tables import LiveSessionRow, ParticipantRow

SESSIONS: Table = LiveSessionRow.__table__  # type: ignore[assignment]
PARTICIPANTS: Table = ParticipantRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live_sessions row read without the ORM (the hot paths: join, list)."""

    id: uuid.UUID
    title: str
    description: str | None
    course_id: str | None
    booking_id: str | None
    session_type: str
    status: str
    scheduled_at: datetime
    duration_minutes: int
    max_participants: int
    is_public: bool
    is_recorded: bool
    waiting_room: bool
    password_hash: str | None
    provider: str
    default_role: str
    owner_id: str
    owner_name: str
    invite_version: int
    media_server: str | None
    media_room: dict[str, Any] | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    peak_participants: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of_row(cls, row: LiveSessionRow) -> SessionRecord:
        return cls(*(getattr(row, name) for name in SESSION_FIELDS))


SESSION_FIELDS = tuple(f.name for f in fields(SessionRecord))
SESSION_COLUMNS = tuple(SESSIONS.c[name] for name in SESSION_FIELDS)


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
    return select(LiveSessionRow).where(*_criteria(f))


def _criteria(f: SessionFilter) -> list[ColumnElement[bool]]:
    s, criteria = SESSIONS.c, []
    if f.visible_to is not None:
        mine = select(PARTICIPANTS.c.session_id).where(PARTICIPANTS.c.user_id == f.visible_to)
        criteria.append(
            or_(s.is_public.is_(True), s.owner_id == f.visible_to, s.id.in_(mine)),
        )
    equal = {
        s.course_id: f.course_id,
        s.owner_id: f.owner_id,
        s.status: f.status,
        s.session_type: f.session_type,
        s.is_public: f.is_public,
    }
    criteria.extend(column == value for column, value in equal.items() if value is not None)
    if f.scheduled_from is not None:
        criteria.append(s.scheduled_at >= f.scheduled_from)
    if f.scheduled_to is not None:
        criteria.append(s.scheduled_at <= f.scheduled_to)
    if f.search:
        escaped = f.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        criteria.append(func.lower(s.title).like(f"%{escaped}%", escape="\\"))
    return criteria


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


async def session_page(
    conn: Connection, f: SessionFilter, *, sort: str, offset: int, limit: int
) -> tuple[list[SessionRecord], int]:
    """One page of sessions and the total of all that match, in one statement."""
    criteria = _criteria(f)
    column = SESSIONS.c[_SORTS[sort.lstrip("-")].key]
    order = column.desc() if sort.startswith("-") else column.asc()
    query = (
        select(*SESSION_COLUMNS, func.count().over().label("total"))
        .where(*criteria)
        .order_by(order, SESSIONS.c.id)
        .offset(offset)
        .limit(limit)
    )
    page = (await conn.execute(query)).all()
    if page:
        return [SessionRecord(*row[:-1]) for row in page], int(page[0][-1])
    # a page past the end has no row to carry the total
    total = await conn.scalar(select(func.count()).select_from(SESSIONS).where(*criteria))
    return [], int(total or 0)


async def live_sessions_past(tx: Transaction, now: datetime) -> list[LiveSessionRow]:
    """Live sessions whose scheduled slot is over (candidates for ending as expired)."""
    rows = await tx.scalars(select(LiveSessionRow).where(LiveSessionRow.status == "live"))
    return [
        r for r in rows if r.scheduled_at.timestamp() + r.duration_minutes * 60 < now.timestamp()
    ]
