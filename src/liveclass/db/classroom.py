"""Classroom state a moderator sets (locks, timer) and the queue of raised hands."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.tables import CLASSROOM_STATE, RAISED_HANDS
from liveclass.db.types import utcnow


@dataclass(frozen=True, slots=True)
class ClassroomState:
    """The stored locks and timer of a session (``{}`` for what was never set)."""

    locks: dict[str, Any]
    timer: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StateRecord:
    session_id: uuid.UUID
    locks: dict[str, Any]
    timer: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RaisedHand:
    session_id: uuid.UUID
    participant_id: uuid.UUID
    raised_at: datetime


_state = Build(StateRecord)
_hand = Build(RaisedHand)
_NEW_STATE = Statement.insert_new(
    CLASSROOM_STATE, keys=("session_id", "locks", "timer", "updated_at")
)
_NEW_HAND = Statement.insert_new(RAISED_HANDS, keys=("session_id", "participant_id", "raised_at"))


async def get_state(db: Reader, *, session_id: uuid.UUID) -> ClassroomState:
    found = _state.maybe(
        await db.one(select(CLASSROOM_STATE).where(CLASSROOM_STATE.c.session_id == session_id))
    )
    if found is None:
        return ClassroomState({}, {})
    return ClassroomState(dict(found.locks), dict(found.timer))


async def save_state(
    tx: Tx,
    *,
    session_id: uuid.UUID,
    locks: dict[str, Any] | None = None,
    timer: dict[str, Any] | None = None,
) -> None:
    """Store the locks and/or the timer given (the other is kept)."""
    now = utcnow()
    first = StateRecord(session_id, locks or {}, timer or {}, now)
    if await tx.run(_NEW_STATE, values_of(first)):
        return
    changes: dict[str, Any] = {"updated_at": now}
    if locks is not None:
        changes["locks"] = locks
    if timer is not None:
        changes["timer"] = timer
    await tx.run(
        update(CLASSROOM_STATE).where(CLASSROOM_STATE.c.session_id == session_id).values(changes)
    )


async def raise_hand(tx: Tx, *, session_id: uuid.UUID, participant_id: uuid.UUID) -> datetime:
    """Raise a hand (kept where it is in the queue when it is up already); its raise time."""
    hand = RaisedHand(session_id, participant_id, utcnow())
    if await tx.run(_NEW_HAND, values_of(hand)):
        return hand.raised_at
    raised_at: datetime = await tx.value(
        select(RAISED_HANDS.c.raised_at).where(
            RAISED_HANDS.c.session_id == session_id, RAISED_HANDS.c.participant_id == participant_id
        )
    )
    return raised_at


async def lower_hand(
    tx: Tx, *, session_id: uuid.UUID, participant_id: uuid.UUID | None = None
) -> None:
    """Lower one hand, or every hand of the session (``participant_id`` None)."""
    query = delete(RAISED_HANDS).where(RAISED_HANDS.c.session_id == session_id)
    if participant_id is not None:
        query = query.where(RAISED_HANDS.c.participant_id == participant_id)
    await tx.run(query)


async def hand_queue(db: Reader, *, session_id: uuid.UUID) -> list[RaisedHand]:
    """Raised hands, first raised first."""
    rows = await db.all(
        select(RAISED_HANDS)
        .where(RAISED_HANDS.c.session_id == session_id)
        .order_by(RAISED_HANDS.c.raised_at, RAISED_HANDS.c.participant_id)
    )
    return [_hand(row) for row in rows]
