"""Stored responses of POSTs sent with an ``Idempotency-Key``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.tables import IDEMPOTENCY_KEYS
from liveclass.db.types import utcnow


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer given to the first request with ``key`` from ``user_id``."""

    key: str
    user_id: str
    request_hash: str
    status_code: int
    body: str
    created_at: datetime


_stored = Build(StoredResponse)
_NEW = Statement.insert_new(IDEMPOTENCY_KEYS, keys=tuple(IDEMPOTENCY_KEYS.c.keys()))


async def find(db: Reader, *, key: str, user_id: str) -> StoredResponse | None:
    query = select(IDEMPOTENCY_KEYS).where(
        IDEMPOTENCY_KEYS.c.key == key, IDEMPOTENCY_KEYS.c.user_id == user_id
    )
    return _stored.maybe(await db.one(query))


async def remember(
    tx: Tx, *, key: str, user_id: str, request_hash: str, status_code: int, body: str
) -> bool:
    """Keep the answer; False when a concurrent request with the same key stored its answer
    first (the same create-or-get outcome, so there is nothing more to keep)."""
    stored = StoredResponse(key, user_id, request_hash, status_code, body, utcnow())
    return bool(await tx.run(_NEW, values_of(stored)))
