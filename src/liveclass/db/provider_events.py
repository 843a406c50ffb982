"""Events a video provider sent liveclass (webhooks), one row each, so a redelivered event
is recognised and acted on once.

A provider retries a webhook it thinks failed, and may deliver the same event twice or
out of order; the row is written in the same transaction as the event's effect, so either
both happen or neither does, and a second delivery finds the row (``remember`` answers
False) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import values_of
from liveclass.db.tables import PROVIDER_EVENTS
from liveclass.db.types import utcnow

EVENT_ID_LIMIT = 128

_NEW = Statement.insert_new(PROVIDER_EVENTS, keys=tuple(PROVIDER_EVENTS.c.keys()))


@dataclass(frozen=True, slots=True)
class ProviderEventRecord:
    """A row of ``provider_events``."""

    provider: str
    event_id: str
    event: str
    room: str
    received_at: datetime


async def remember(tx: Tx, *, provider: str, event_id: str, event: str, room: str) -> bool:
    """Note that ``event_id`` of ``provider`` arrived; False if it had arrived before."""
    record = ProviderEventRecord(
        provider=provider,
        event_id=event_id[:EVENT_ID_LIMIT],
        event=event[:64],
        room=room[:128],
        received_at=utcnow(),
    )
    return await tx.run(_NEW, values_of(record)) == 1


async def forget_before(tx: Tx, *, before: datetime) -> int:
    """Drop rows older than any redelivery (providers retry for minutes to hours)."""
    return await tx.run(delete(PROVIDER_EVENTS).where(PROVIDER_EVENTS.c.received_at < before))


async def seen(db: Reader, *, provider: str, room: str, event: str) -> bool:
    """Whether an event of this kind about ``room`` arrived already (an out-of-order check:
    a meeting's start arriving after its end)."""
    query = (
        select(PROVIDER_EVENTS.c.event_id)
        .where(
            PROVIDER_EVENTS.c.provider == provider,
            PROVIDER_EVENTS.c.room == room[:128],
            PROVIDER_EVENTS.c.event == event[:64],
        )
        .limit(1)
    )
    return await db.one(query) is not None
