"""Classroom state a moderator sets (locks, timer) and the queue of raised hands."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from liveclass.db.database import Transaction
from liveclass.db.tables import ClassroomStateRow, RaisedHandRow
from liveclass.db.types import utcnow


@dataclass(frozen=True, slots=True)
class ClassroomState:
    locks: dict[str, Any]
    timer: dict[str, Any]


async def get_state(tx: Transaction, *, session_id: uuid.UUID) -> ClassroomState:
    row = await tx.orm.get(ClassroomStateRow, session_id)
    if row is None:
        return ClassroomState({}, {})
    return ClassroomState(dict(row.locks), dict(row.timer))


async def save_state(
    tx: Transaction,
    *,
    session_id: uuid.UUID,
    locks: dict[str, Any] | None = None,
    timer: dict[str, Any] | None = None,
) -> None:
    """Store the locks and/or the timer given (the other is kept)."""
    row = await tx.orm.get(ClassroomStateRow, session_id, with_for_update=True)
    if row is None:
        row = ClassroomStateRow(session_id=session_id, locks={}, timer={})
        tx.orm.add(row)
    if locks is not None:
        row.locks = locks
    if timer is not None:
        row.timer = timer


async def raise_hand(
    tx: Transaction, *, session_id: uuid.UUID, participant_id: uuid.UUID
) -> datetime:
    """Raise a hand (kept where it is in the queue when it is up already); its raise time."""
    found = await tx.orm.get(RaisedHandRow, (session_id, participant_id))
    if found is not None:
        return found.raised_at
    row = RaisedHandRow(session_id=session_id, participant_id=participant_id, raised_at=utcnow())
    tx.orm.add(row)
    return row.raised_at


async def lower_hand(
    tx: Transaction, *, session_id: uuid.UUID, participant_id: uuid.UUID | None = None
) -> None:
    """Lower one hand, or every hand of the session (``participant_id`` None)."""
    query = delete(RaisedHandRow).where(RaisedHandRow.session_id == session_id)
    if participant_id is not None:
        query = query.where(RaisedHandRow.participant_id == participant_id)
    await tx.orm.execute(query)


async def hand_queue(tx: Transaction, *, session_id: uuid.UUID) -> list[tuple[uuid.UUID, datetime]]:
    """Raised hands, first raised first."""
    rows = await tx.orm.execute(
        select(RaisedHandRow.participant_id, RaisedHandRow.raised_at)
        .where(RaisedHandRow.session_id == session_id)
        .order_by(RaisedHandRow.raised_at, RaisedHandRow.participant_id)
    )
    return [(pid, at) for pid, at in rows.all()]
