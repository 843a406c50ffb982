"""The outbox: events for the platform, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select

from liveclass.db.database import Connection, Transaction
from liveclass.db.tables import OutboxEventRow

OUTBOX: Table = OutboxEventRow.__table__  # type: ignore[assignment]


def record_event(
    tx: Transaction, event_type: str, *, session_id: uuid.UUID | None, payload: dict[str, Any]
) -> None:
    tx.add(OutboxEventRow(event_type=event_type, session_id=session_id, payload=payload))


async def add_event(
    conn: Connection, event_type: str, *, session_id: uuid.UUID, payload: dict[str, Any]
) -> None:
    """``record_event`` for Core transactions (``Database.write``)."""
    await conn.execute(
        insert(OUTBOX).values(event_type=event_type, session_id=session_id, payload=payload)
    )


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
    return list(await tx.scalars(query))
