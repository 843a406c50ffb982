"""Stored responses of POSTs sent with an ``Idempotency-Key``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from liveclass.db.database import Database
from liveclass.db.tables import IdempotencyKeyRow


async def find(db: Database, *, key: str, user_id: str) -> IdempotencyKeyRow | None:
    async with db.transaction() as tx:
        query = select(IdempotencyKeyRow).where(
            IdempotencyKeyRow.key == key, IdempotencyKeyRow.user_id == user_id
        )
        return (await tx.orm.scalars(query)).one_or_none()


async def remember(
    db: Database, *, key: str, user_id: str, request_hash: str, status_code: int, body: str
) -> None:
    try:
        async with db.transaction() as tx:
            tx.orm.add(
                IdempotencyKeyRow(
                    key=key,
                    user_id=user_id,
                    request_hash=request_hash,
                    status_code=status_code,
                    body=body,
                )
            )
    except IntegrityError:
        # A concurrent request with the same key stored its answer first; it is the same
        # create-or-get outcome, so there is nothing more to keep.
        pass
