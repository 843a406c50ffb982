"""The outbox: events for the platform, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select

from liveclass.db.database import Statement, Transaction, Writer
from liveclass.db.tables import OutboxEventRow
from liveclass.db.types import utcnow

OUTBOX: Table = OutboxEventRow.__table__  # type: ignore[assignment]


def record_event(
    tx: Transaction, event_type: str, *, session_id: uuid.UUID | None, payload: dict[str, Any]
) -> None:
    tx.orm.add(OutboxEventRow(event_type=event_type, session_id=session_id, payload=payload))


# asyncpg gets the values SQLAlchemy would fill client-side too (tables.py: id, attempts,
# next_attempt_at, created_at); a default added there and not here makes args() fail.
EVENT_KEYS = (
    "id",
    "event_type",
    "session_id",
    "payload",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def event_values(
    event_type: str, *, session_id: uuid.UUID, payload: dict[str, Any]
) -> dict[str, Any]:
    """Every column of a new event, ``EVENT_KEYS``, as SQLAlchemy would fill them."""
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "event_type": event_type,
        "session_id": session_id,
        "payload": payload,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


_INSERT = Statement.of(insert(OUTBOX), keys=EVENT_KEYS)


async def add_values(db: Writer, values: dict[str, Any]) -> None:
    """Insert an event given as ``event_values`` built it."""
    await db.run(_INSERT, values)


async def add(
    tx: Writer, *, event_type: str, session_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    """Record an event for the platform, in the transaction of the change itself."""
    await tx.run(_INSERT, event_values(event_type, session_id=session_id, payload=payload))


async def due_events(tx: Transaction, *, now: datetime, limit: int) -> list[OutboxEventRow]:
    """Undelivered events whose next attempt is due, oldest first, locked where the engine
    can (PostgreSQL skips rows another node is delivering)."""
    query = (
        select(OutboxEventRow)
        .where(OutboxEventRow.delivered_at.is_(None))
        .where(OutboxEventRow.next_attempt_at <= now)
        .order_by(OutboxEventRow.created_at, OutboxEventRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await tx.orm.scalars(query))
