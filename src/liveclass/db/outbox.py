"""The outbox: events for the platform, written in the transaction of the change itself,
and delivered (``liveclass.notify.webhooks``) with retries until they get through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from liveclass.db.database import Statement, Tx
from liveclass.db.records import Build
from liveclass.db.tables import OUTBOX_EVENTS
from liveclass.db.types import utcnow

_O = OUTBOX_EVENTS.c


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An outbox_events row."""

    id: uuid.UUID
    event_type: str
    session_id: uuid.UUID | None
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    created_at: datetime


build_event = Build(OutboxEvent)

# The columns a new event is written with (the rest start empty).
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
    event_type: str, *, session_id: uuid.UUID | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """Every column of a new event, ``EVENT_KEYS``."""
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


_INSERT = Statement.of(OUTBOX_EVENTS.insert(), keys=EVENT_KEYS)


async def add_values(tx: Tx, values: dict[str, Any]) -> None:
    """Insert an event given as ``event_values`` built it."""
    await tx.run(_INSERT, values)


async def add(
    tx: Tx, *, event_type: str, session_id: uuid.UUID | None, payload: dict[str, Any]
) -> None:
    """Record an event for the platform, in the transaction of the change itself."""
    await tx.run(_INSERT, event_values(event_type, session_id=session_id, payload=payload))


async def due_events(tx: Tx, *, now: datetime, limit: int) -> list[OutboxEvent]:
    """Undelivered events whose next attempt is due, oldest first, locked where the engine
    can (PostgreSQL skips rows another node is delivering)."""
    rows = await tx.all(
        select(*(OUTBOX_EVENTS.c[name] for name in build_event.names))
        .where(_O.delivered_at.is_(None), _O.next_attempt_at <= now)
        .order_by(_O.created_at, _O.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [build_event(row) for row in rows]


async def delivered(tx: Tx, *, event_id: uuid.UUID, at: datetime) -> None:
    await tx.run(update(OUTBOX_EVENTS).where(_O.id == event_id).values(delivered_at=at))


async def failed(tx: Tx, *, event: OutboxEvent, error: str, next_attempt_at: datetime) -> None:
    """One more failed attempt at ``event``, and when to try again."""
    await tx.run(
        update(OUTBOX_EVENTS)
        .where(_O.id == event.id)
        .values(attempts=event.attempts + 1, last_error=error, next_attempt_at=next_attempt_at)
    )
