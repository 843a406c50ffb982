"""Queries over participants."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from liveclass.db.database import Transaction
from liveclass.db.tables import ParticipantRow
from liveclass.db.types import utcnow
from liveclass.domain.participants import ParticipantStatus


async def get_participant(
    tx: Transaction, session_id: uuid.UUID, participant_id: uuid.UUID
) -> ParticipantRow | None:
    query = select(ParticipantRow).where(
        ParticipantRow.session_id == session_id, ParticipantRow.id == participant_id
    )
    return (await tx.scalars(query)).one_or_none()


async def get_by_user(
    tx: Transaction, session_id: uuid.UUID, user_id: str, *, for_update: bool = False
) -> ParticipantRow | None:
    query = select(ParticipantRow).where(
        ParticipantRow.session_id == session_id, ParticipantRow.user_id == user_id
    )
    if for_update:
        query = query.with_for_update()
    return (await tx.scalars(query)).one_or_none()


@dataclass(frozen=True, slots=True)
class JoinedCount:
    seated: int  # joined in one of the seated roles (the capacity counts these)
    everyone: int  # joined in any role (the peak counts these)


async def count_joined(
    tx: Transaction,
    session_id: uuid.UUID,
    *,
    seated_roles: Iterable[str],
    excluding: uuid.UUID | None = None,
) -> JoinedCount:
    """Both counts of joined participants in one query."""
    query = select(
        func.count().filter(ParticipantRow.role.in_(list(seated_roles))), func.count()
    ).where(
        ParticipantRow.session_id == session_id,
        ParticipantRow.status == ParticipantStatus.JOINED.value,
    )
    if excluding is not None:
        query = query.where(ParticipantRow.id != excluding)
    seated, everyone = (await tx.execute(query)).one()
    return JoinedCount(seated=int(seated), everyone=int(everyone))


async def count_in(
    tx: Transaction,
    session_id: uuid.UUID,
    *,
    statuses: Iterable[str],
    roles: Iterable[str],
    excluding: uuid.UUID | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(ParticipantRow)
        .where(
            ParticipantRow.session_id == session_id,
            ParticipantRow.status.in_(list(statuses)),
            ParticipantRow.role.in_(list(roles)),
        )
    )
    if excluding is not None:
        query = query.where(ParticipantRow.id != excluding)
    return int(await tx.scalar(query) or 0)


async def list_participants(
    tx: Transaction,
    session_id: uuid.UUID,
    *,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[list[ParticipantRow], int]:
    query = select(ParticipantRow).where(ParticipantRow.session_id == session_id)
    if status is not None:
        query = query.where(ParticipantRow.status == status)
    total = await tx.scalar(select(func.count()).select_from(query.subquery()))
    rows = await tx.scalars(
        query.order_by(ParticipantRow.first_joined_at, ParticipantRow.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def all_participants(tx: Transaction, session_id: uuid.UUID) -> list[ParticipantRow]:
    rows = await tx.scalars(
        select(ParticipantRow)
        .where(ParticipantRow.session_id == session_id)
        .order_by(ParticipantRow.first_joined_at, ParticipantRow.id)
    )
    return list(rows)


async def mark_all_left(tx: Transaction, session_id: uuid.UUID) -> None:
    await tx.execute(
        update(ParticipantRow)
        .where(ParticipantRow.session_id == session_id)
        .where(ParticipantRow.status.in_(["joined", "waiting"]))
        .values(status="left", left_at=utcnow())
    )
