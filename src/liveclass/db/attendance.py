"""Attendance intervals: one row per connected span, opened on connect, closed on disconnect."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import case, literal, select, update

from liveclass.db.database import Transaction
from liveclass.db.tables import AttendanceIntervalRow
from liveclass.db.types import UTCDateTime, utcnow


async def open_interval(
    tx: Transaction,
    *,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str = "",
) -> None:
    tx.orm.add(
        AttendanceIntervalRow(
            session_id=session_id,
            participant_id=participant_id,
            connection_id=connection_id,
            node_id=node_id,
            started_at=utcnow(),
        )
    )


async def close_interval(
    tx: Transaction, *, connection_id: str, at: datetime | None = None
) -> None:
    await tx.orm.execute(
        update(AttendanceIntervalRow)
        .where(AttendanceIntervalRow.connection_id == connection_id)
        .where(AttendanceIntervalRow.ended_at.is_(None))
        .values(ended_at=at or utcnow())
    )


async def close_participant(
    tx: Transaction, *, participant_id: uuid.UUID, at: datetime | None = None
) -> None:
    await tx.orm.execute(
        update(AttendanceIntervalRow)
        .where(AttendanceIntervalRow.participant_id == participant_id)
        .where(AttendanceIntervalRow.ended_at.is_(None))
        .values(ended_at=at or utcnow())
    )


async def close_session(
    tx: Transaction, *, session_id: uuid.UUID, at: datetime | None = None
) -> None:
    await tx.orm.execute(
        update(AttendanceIntervalRow)
        .where(AttendanceIntervalRow.session_id == session_id)
        .where(AttendanceIntervalRow.ended_at.is_(None))
        .values(ended_at=at or utcnow())
    )


async def close_node(tx: Transaction, *, node_id: str, at: datetime) -> list[uuid.UUID]:
    """Close the intervals ``node_id`` left open, at ``at`` (when it was last alive); an
    interval opened after that closes where it started. Returns the sessions concerned."""
    sessions = await tx.orm.scalars(
        select(AttendanceIntervalRow.session_id)
        .where(AttendanceIntervalRow.node_id == node_id)
        .where(AttendanceIntervalRow.ended_at.is_(None))
        .distinct()
    )
    affected = list(sessions)
    if affected:
        started = AttendanceIntervalRow.started_at
        await tx.orm.execute(
            update(AttendanceIntervalRow)
            .where(AttendanceIntervalRow.node_id == node_id)
            .where(AttendanceIntervalRow.ended_at.is_(None))
            .values(ended_at=case((started > at, started), else_=literal(at, UTCDateTime())))
            .execution_options(synchronize_session=False)
        )
    return affected


async def seconds_by_participant(
    tx: Transaction, *, session_id: uuid.UUID, now: datetime | None = None
) -> dict[uuid.UUID, float]:
    """Total connected seconds per participant; overlapping sockets (two tabs) count once."""
    now = now or utcnow()
    rows = await tx.orm.execute(
        select(
            AttendanceIntervalRow.participant_id,
            AttendanceIntervalRow.started_at,
            AttendanceIntervalRow.ended_at,
        ).where(AttendanceIntervalRow.session_id == session_id)
    )
    spans: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for pid, start, end in rows:
        spans[pid].append((start, end or now))
    return {pid: _union_seconds(s) for pid, s in spans.items()}


async def connected_participants(tx: Transaction, *, session_id: uuid.UUID) -> set[uuid.UUID]:
    return set(await open_connections(tx, session_id=session_id))


async def open_connections(tx: Transaction, *, session_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Participant -> the socket they are connected with now (the newest, if several)."""
    rows = await tx.orm.execute(
        select(AttendanceIntervalRow.participant_id, AttendanceIntervalRow.connection_id)
        .where(AttendanceIntervalRow.session_id == session_id)
        .where(AttendanceIntervalRow.ended_at.is_(None))
        .order_by(AttendanceIntervalRow.started_at, AttendanceIntervalRow.id)
    )
    return {participant: connection for participant, connection in rows}


def _union_seconds(spans: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total
