"""Attendance intervals: one row per connected span, opened on connect, closed on disconnect."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, case, literal, select, update

from liveclass.config import HOSTED_PROVIDERS
from liveclass.db.database import Reader, Row, Tx
from liveclass.db.tables import ATTENDANCE_INTERVALS
from liveclass.db.types import UTCDateTime, utcnow

_A = ATTENDANCE_INTERVALS.c

# The pseudo nodes of spans a media provider reported (its webhooks, its records), not a
# classroom socket: they count as attendance, but no node holds a socket for them. Each
# provider reports under its own name (``control.hosted_attendance``, ``livekit_events``).
PROVIDER_NODES = ("livekit", *HOSTED_PROVIDERS)


async def open_interval(
    tx: Tx,
    *,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str = "",
) -> None:
    await _insert(tx, session_id, participant_id, connection_id, node_id, utcnow(), None)


async def connected_at(
    tx: Tx,
    *,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str,
    at: datetime,
) -> None:
    """A media provider reports that ``connection_id`` connected at ``at``. Redelivery
    changes nothing; after its disconnect was reported first (``disconnected_at`` left a
    closed span where it ended), the span is stretched back to ``at``. Call it under the
    session's lock (``seats.lock_room``): each connection has one row."""
    found = await _connection(tx, connection_id)
    if found is None:
        await _insert(tx, session_id, participant_id, connection_id, node_id, at, None)
    elif found["ended_at"] is not None and at < found["started_at"]:
        await tx.run(update(ATTENDANCE_INTERVALS).where(_A.id == found["id"]).values(started_at=at))


async def disconnected_at(
    tx: Tx,
    *,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str,
    at: datetime,
) -> None:
    """A media provider reports that ``connection_id`` disconnected at ``at``. Before its
    connect arrived this leaves a closed span ``[at, at]`` (the connect stretches it), so
    nothing stays open for ever; a span already closed is left as it is."""
    await _left(tx, session_id, participant_id, connection_id, node_id, at, shorten=False)


async def left_on_record_at(
    tx: Tx,
    *,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str,
    at: datetime,
) -> None:
    """As ``disconnected_at``, for a leave from the provider's own records (its attendance
    report): that wins over the close liveclass made when the class ended, so a span
    closed later than ``at`` is shortened to it."""
    await _left(tx, session_id, participant_id, connection_id, node_id, at, shorten=True)


async def _left(
    tx: Tx,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str,
    at: datetime,
    *,
    shorten: bool,
) -> None:
    found = await _connection(tx, connection_id)
    if found is None:
        await _insert(tx, session_id, participant_id, connection_id, node_id, at, at)
        return
    end = max(at, found["started_at"])
    closed = found["ended_at"]
    if closed is None or (shorten and end < closed):
        await tx.run(update(ATTENDANCE_INTERVALS).where(_A.id == found["id"]).values(ended_at=end))


async def _connection(tx: Tx, connection_id: str) -> Row | None:
    query = select(_A.id, _A.started_at, _A.ended_at).where(_A.connection_id == connection_id)
    return await tx.one(query.order_by(_A.started_at).limit(1))


async def _insert(
    tx: Tx,
    session_id: uuid.UUID,
    participant_id: uuid.UUID,
    connection_id: str,
    node_id: str,
    started_at: datetime,
    ended_at: datetime | None,
) -> None:
    await tx.run(
        ATTENDANCE_INTERVALS.insert().values(
            id=uuid.uuid4(),
            session_id=session_id,
            participant_id=participant_id,
            connection_id=connection_id,
            node_id=node_id,
            started_at=started_at,
            ended_at=ended_at,
        )
    )


async def close_node_in_session(
    tx: Tx, *, session_id: uuid.UUID, node_id: str, at: datetime
) -> None:
    """Close what ``node_id`` (a provider's pseudo node, e.g. ``livekit``) holds open in
    the session, at ``at`` or where a span started, whichever is later (the room closed)."""
    started = _A.started_at
    await tx.run(
        update(ATTENDANCE_INTERVALS)
        .where(_A.session_id == session_id, _A.node_id == node_id, _A.ended_at.is_(None))
        .values(ended_at=case((started > at, started), else_=literal(at, UTCDateTime())))
    )


async def _close(tx: Tx, which: ColumnElement[bool], at: datetime | None) -> None:
    await tx.run(
        update(ATTENDANCE_INTERVALS)
        .where(which, _A.ended_at.is_(None))
        .values(ended_at=at or utcnow())
    )


async def close_interval(tx: Tx, *, connection_id: str, at: datetime | None = None) -> None:
    await _close(tx, _A.connection_id == connection_id, at)


async def close_participant(
    tx: Tx, *, participant_id: uuid.UUID, at: datetime | None = None
) -> None:
    await _close(tx, _A.participant_id == participant_id, at)


async def close_session(tx: Tx, *, session_id: uuid.UUID, at: datetime | None = None) -> None:
    await _close(tx, _A.session_id == session_id, at)


async def close_node(tx: Tx, *, node_id: str, at: datetime) -> list[uuid.UUID]:
    """Close the intervals ``node_id`` left open, at ``at`` (when it was last alive); an
    interval opened after that closes where it started. Returns the sessions concerned."""
    open_here = (_A.node_id == node_id, _A.ended_at.is_(None))
    rows = await tx.all(select(_A.session_id).where(*open_here).distinct())
    affected = [row["session_id"] for row in rows]
    if affected:
        started = _A.started_at
        await tx.run(
            update(ATTENDANCE_INTERVALS)
            .where(*open_here)
            .values(ended_at=case((started > at, started), else_=literal(at, UTCDateTime())))
        )
    return affected


async def seconds_by_participant(
    db: Reader, *, session_id: uuid.UUID, now: datetime | None = None
) -> dict[uuid.UUID, float]:
    """Total connected seconds per participant; overlapping sockets (two tabs) count once."""
    now = now or utcnow()
    rows = await db.all(
        select(_A.participant_id, _A.started_at, _A.ended_at).where(_A.session_id == session_id)
    )
    spans: dict[uuid.UUID, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in rows:
        spans[row["participant_id"]].append((row["started_at"], row["ended_at"] or now))
    return {pid: _union_seconds(s) for pid, s in spans.items()}


async def connected_participants(db: Reader, *, session_id: uuid.UUID) -> set[uuid.UUID]:
    """Who is connected now: to a classroom socket or, as a provider reported, to its room
    (someone on both counts once)."""
    rows = await db.all(
        select(_A.participant_id)
        .where(_A.session_id == session_id, _A.ended_at.is_(None))
        .distinct()
    )
    return {row["participant_id"] for row in rows}


async def open_connections(db: Reader, *, session_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Participant -> the classroom socket they are connected with now (the newest, if
    several); a provider's reported connections hold no socket and are left out."""
    rows = await db.all(
        select(_A.participant_id, _A.connection_id)
        .where(
            _A.session_id == session_id,
            _A.ended_at.is_(None),
            _A.node_id.not_in(PROVIDER_NODES),
        )
        .order_by(_A.started_at, _A.id)
    )
    return {row["participant_id"]: row["connection_id"] for row in rows}


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
