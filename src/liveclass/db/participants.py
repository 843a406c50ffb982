"""Queries over participants."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import (
    BindParameter,
    String,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    update,
)

from liveclass.db import outbox
from liveclass.db.database import Native, Reader, Statement, Transaction, Writer
from liveclass.db.sessions import (
    PARTICIPANTS,
    SESSION_COLUMNS,
    SESSION_FIELDS,
    SESSIONS,
    SessionRecord,
)
from liveclass.db.tables import ParticipantRow
from liveclass.db.types import UTCDateTime, utcnow
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import PUBLISHING_ROLES, SEATED_ROLES


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A participants row read without the ORM (the hot paths: join, token refresh)."""

    id: uuid.UUID
    session_id: uuid.UUID
    user_id: str
    name: str
    role: str
    status: str
    token_version: int
    first_joined_at: datetime
    last_joined_at: datetime
    left_at: datetime | None
    kicked_at: datetime | None
    created_at: datetime

    @classmethod
    def of_row(cls, row: ParticipantRow) -> ParticipantRecord:
        return cls(*(getattr(row, name) for name in PARTICIPANT_FIELDS))


PARTICIPANT_FIELDS = tuple(f.name for f in fields(ParticipantRecord))
PARTICIPANT_COLUMNS = tuple(PARTICIPANTS.c[name] for name in PARTICIPANT_FIELDS)
_P = PARTICIPANTS.c
_N = len(SESSION_FIELDS)


@dataclass(frozen=True, slots=True)
class Seat:
    """A session and the caller's participant row in it, read in one statement."""

    session: SessionRecord
    participant: ParticipantRecord


# Built once: a prepared statement's cache key is computed once, not per request.
# The session, with the caller's seat when they have one (an outer join: a newcomer gets
# the session alone, which the one-statement first join needs).
_SEAT_OF_USER = Statement.of(
    select(*SESSION_COLUMNS, *PARTICIPANT_COLUMNS)
    .outerjoin_from(
        SESSIONS,
        PARTICIPANTS,
        (_P.session_id == SESSIONS.c.id) & (_P.user_id == bindparam("uid")),
    )
    .where(SESSIONS.c.id == bindparam("sid"))
)
_SEAT_BY_ID = Statement.of(
    select(*SESSION_COLUMNS, *PARTICIPANT_COLUMNS)
    .join_from(PARTICIPANTS, SESSIONS, SESSIONS.c.id == _P.session_id)
    .where(_P.session_id == bindparam("sid"), _P.id == bindparam("pid"))
)
_LOCK_SESSION = Statement.of(
    select(*SESSION_COLUMNS).where(SESSIONS.c.id == bindparam("sid")).with_for_update()
)


def _seat(row: Any) -> Seat:
    values = tuple(row.values())
    return Seat(SessionRecord(*values[:_N]), ParticipantRecord(*values[_N:]))


async def seat_of_user(
    db: Reader, session_id: uuid.UUID, user_id: str
) -> tuple[SessionRecord, ParticipantRecord | None] | None:
    """The session and the caller's seat in it (None when they have none); None when there
    is no such session."""
    row = await db.one(_SEAT_OF_USER, {"sid": session_id, "uid": user_id})
    if row is None:
        return None
    values = tuple(row.values())
    me = None if values[_N] is None else ParticipantRecord(*values[_N:])
    return SessionRecord(*values[:_N]), me


async def seat_by_id(db: Reader, session_id: uuid.UUID, participant_id: uuid.UUID) -> Seat | None:
    row = await db.one(_SEAT_BY_ID, {"sid": session_id, "pid": participant_id})
    return None if row is None else _seat(row)


async def lock_session(db: Writer, session_id: uuid.UUID) -> SessionRecord | None:
    """The session row, locked until the transaction ends: first joins queue here on
    PostgreSQL; SQLite already holds the database write lock (BEGIN IMMEDIATE)."""
    row = await db.one(_LOCK_SESSION, {"sid": session_id})
    return None if row is None else SessionRecord(*row.values())


@dataclass(frozen=True, slots=True)
class RoomCount:
    """Who else is joined, counted after the session lock is held."""

    seated: int  # in one of the seated roles (the capacity counts these)
    publishing: int  # in one of the publishing roles (a mesh room's cap counts these)
    everyone: int  # in any role (the peak counts these)


def _me_and_others_query() -> Statement:
    sid: BindParameter[Any] = bindparam("sid")
    uid: BindParameter[Any] = bindparam("uid")
    # literal(): each role is a parameter of its own that the statement carries, where in_()
    # of a list would be expanded per execution
    seated = _P.role.in_([literal(role) for role in SEATED_ROLES])
    publishing = _P.role.in_([literal(role) for role in PUBLISHING_ROLES])
    others = (
        select(
            func.count().filter(seated).label("seated"),
            func.count().filter(publishing).label("publishing"),
            func.count().label("everyone"),
        )
        .where(
            _P.session_id == sid,
            _P.status == literal(ParticipantStatus.JOINED.value),
            _P.user_id != uid,
        )
        .subquery()
    )
    return Statement.of(
        select(others, *PARTICIPANT_COLUMNS).outerjoin_from(
            others, PARTICIPANTS, (_P.session_id == sid) & (_P.user_id == uid)
        )
    )


# Built once: a prepared statement's cache key is computed once, not per request.
_ME_AND_OTHERS = _me_and_others_query()


async def me_and_others(
    db: Writer, session_id: uuid.UUID, user_id: str
) -> tuple[ParticipantRecord | None, RoomCount]:
    """The caller's participant row and the counts of everyone else joined (seated and
    publishing by ``domain.roles``), in one statement.

    Run it after ``lock_session``: on PostgreSQL a statement's snapshot starts with the
    statement, so these counts see every join committed before the lock was granted.
    """
    row = await db.one(_ME_AND_OTHERS, {"sid": session_id, "uid": user_id})
    assert row is not None  # the counts are an aggregate: always one row
    values = tuple(row.values())
    count = RoomCount(seated=int(values[0]), publishing=int(values[1]), everyone=int(values[2]))
    me = None if values[3] is None else ParticipantRecord(*values[3:])
    return me, count


# Every column is given (a record has them all): no client-side default is left to fill.
_INSERT = Statement.of(insert(PARTICIPANTS), keys=PARTICIPANT_FIELDS)


async def insert_participant(db: Writer, me: ParticipantRecord) -> None:
    await db.run(_INSERT, {name: getattr(me, name) for name in PARTICIPANT_FIELDS})


# update_seat by the columns it writes, built once.
_SEAT_COLUMNS = ("name", "role", "status", "last_joined_at", "left_at")
_UPDATES: dict[tuple[str, ...], Statement] = {}


def _update_seat_query(names: tuple[str, ...]) -> Statement:
    found = _UPDATES.get(names)
    if found is None:
        query = (
            update(PARTICIPANTS)
            .where(
                _P.id == bindparam("was_id"),
                _P.status == bindparam("was_status"),
                _P.role == bindparam("was_role"),
                _P.token_version == bindparam("was_token_version"),
            )
            .values({name: bindparam(f"new_{name}") for name in names})
        )
        found = _UPDATES[names] = Statement.of(query)
    return found


async def update_seat(db: Writer, me: ParticipantRecord, *, was: ParticipantRecord) -> bool:
    """Write ``me`` over ``was``, only if the row still holds what ``was`` read (status,
    role, token version): a kick or role change committed meanwhile wins, and False says so.
    """
    changed = tuple(name for name in _SEAT_COLUMNS if getattr(me, name) != getattr(was, name))
    if not changed:
        return True
    values = {f"new_{name}": getattr(me, name) for name in changed}
    values.update(
        was_id=was.id,
        was_status=was.status,
        was_role=was.role,
        was_token_version=was.token_version,
    )
    return await db.run(_update_seat_query(changed), values) == 1


_RAISE_PEAK_UPDATE = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("sid"), SESSIONS.c.peak_participants < bindparam("peak"))
    .values(peak_participants=bindparam("peak"))
)
_RAISE_PEAK = Statement.of(_RAISE_PEAK_UPDATE)


async def raise_peak(db: Writer, session_id: uuid.UUID, peak: int) -> None:
    values: dict[str, Any] = {"sid": session_id, "peak": peak}
    if db.driver is not None:
        # SQLAlchemy's execution would fill updated_at (its onupdate) itself
        values["updated_at"] = utcnow()
    await db.run(_RAISE_PEAK, values)


# A first seat's three writes (the participant row, the session's peak when it rises, the
# outbox event) as one PostgreSQL statement, data-modifying CTEs that all run: one round
# trip instead of three, and the session row lock is held that much shorter. SQLite has no
# data-modifying CTEs and runs the three statements.
_FIRST_SEATS: dict[bool, Native] = {}


def _first_seat_statement(raise_peak: bool) -> Native:
    found = _FIRST_SEATS.get(raise_peak)
    if found is None:
        seat = insert(PARTICIPANTS).values(
            {name: bindparam(f"p_{name}", type_=_P[name].type) for name in PARTICIPANT_FIELDS}
        )
        event = insert(outbox.OUTBOX).values(
            {
                key: bindparam(f"e_{key}", type_=outbox.OUTBOX.c[key].type)
                for key in outbox.EVENT_KEYS
            }
        )
        ctes = [seat.cte("seat"), event.cte("event")]
        if raise_peak:
            ctes.append(_RAISE_PEAK_UPDATE.values(updated_at=bindparam("updated_at")).cte("peak"))
        found = _FIRST_SEATS[raise_peak] = Native.of(select(literal(1)).add_cte(*ctes))
    return found


async def seat_first_time(
    db: Writer, me: ParticipantRecord, *, peak: int | None, event: dict[str, Any]
) -> None:
    """Insert a newcomer's seat, raise the session's peak to ``peak`` (when given and
    higher), and add the outbox ``event`` (``outbox.event_values``): in one round trip on
    PostgreSQL. Run it inside ``writer()``, under the session lock."""
    if db.driver is None:
        await insert_participant(db, me)
        if peak is not None:
            await raise_peak(db, me.session_id, peak)
        await outbox.add_values(db, event)
        return
    values = {f"p_{name}": getattr(me, name) for name in PARTICIPANT_FIELDS}
    values.update({f"e_{key}": event[key] for key in outbox.EVENT_KEYS})
    values.update(sid=me.session_id, peak=peak, updated_at=utcnow())
    native = _first_seat_statement(peak is not None)
    await db.driver.execute(native.sql, *native.args(values))


async def get_participant(
    tx: Transaction, session_id: uuid.UUID, participant_id: uuid.UUID
) -> ParticipantRow | None:
    query = select(ParticipantRow).where(
        ParticipantRow.session_id == session_id, ParticipantRow.id == participant_id
    )
    return (await tx.orm.scalars(query)).one_or_none()


async def get_by_user(
    tx: Transaction, session_id: uuid.UUID, user_id: str, *, for_update: bool = False
) -> ParticipantRow | None:
    query = select(ParticipantRow).where(
        ParticipantRow.session_id == session_id, ParticipantRow.user_id == user_id
    )
    if for_update:
        query = query.with_for_update()
    return (await tx.orm.scalars(query)).one_or_none()


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
    seated, everyone = (await tx.orm.execute(query)).one()
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
    return int(await tx.orm.scalar(query) or 0)


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
    total = await tx.orm.scalar(select(func.count()).select_from(query.subquery()))
    rows = await tx.orm.scalars(
        query.order_by(ParticipantRow.first_joined_at, ParticipantRow.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def all_participants(tx: Transaction, session_id: uuid.UUID) -> list[ParticipantRow]:
    rows = await tx.orm.scalars(
        select(ParticipantRow)
        .where(ParticipantRow.session_id == session_id)
        .order_by(ParticipantRow.first_joined_at, ParticipantRow.id)
    )
    return list(rows)


async def mark_all_left(tx: Transaction, session_id: uuid.UUID) -> None:
    await tx.orm.execute(
        update(ParticipantRow)
        .where(ParticipantRow.session_id == session_id)
        .where(ParticipantRow.status.in_(["joined", "waiting"]))
        .values(status="left", left_at=utcnow())
    )
    await recount(tx, session_id)


# -- the session's seat counters ------------------------------------------------------------
#
# live_sessions.seated_count, publisher_count and joined_count say who is joined now. The
# one-statement first join (``take_first_seat``) checks and bumps them; every other change
# of a seat (the locked join, leave, kick, a role change, admit, the end) counts them again
# from the participants with ``recount``, under the session row lock, so they come out
# exact whatever came before. A first join that finds them full, or the session changed,
# takes the locked path, which counts the participants themselves: counters too high
# only send joins the slow way. Counters too low would let one too many in, so a new code
# path that takes or frees a seat must recount like these.


def _joined_count(*roles: str) -> Any:
    query = select(func.count()).where(
        _P.session_id == SESSIONS.c.id, _P.status == literal(ParticipantStatus.JOINED.value)
    )
    if roles:
        query = query.where(_P.role.in_([literal(role) for role in roles]))
    return query.scalar_subquery()


_RECOUNT = Statement.of(
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("sid"))
    .values(
        seated_count=_joined_count(*SEATED_ROLES),
        publisher_count=_joined_count(*PUBLISHING_ROLES),
        joined_count=_joined_count(),
        updated_at=SESSIONS.c.updated_at,  # counting is no change of the session
    )
)


async def recount(db: Writer | Transaction, session_id: uuid.UUID) -> None:
    """Count the session's joined participants into its counters. Run it after the change
    of a seat, in its transaction, with the session row locked (``lock_session`` or a
    ``FOR UPDATE`` load): then no first join can take a seat between the count and the
    commit."""
    await db.run(_RECOUNT, {"sid": session_id})


def _take_first_seat_statement() -> Native:
    s = SESSIONS.c
    admitted = (
        update(SESSIONS)
        .where(
            s.id == bindparam("sid"),
            # the session as the caller's checks saw it (entry, role, waiting room)...
            s.status == literal("live"),
            s.waiting_room.is_(False),
            s.owner_id == bindparam("owner_id"),
            s.is_public == bindparam("is_public"),
            s.invite_version == bindparam("invite_version"),
            s.password_hash.is_not_distinct_from(bindparam("password_hash", type_=String)),
            s.default_role == bindparam("default_role"),
            s.provider == bindparam("provider"),
            # ...and a free seat, checked against the row's newest version: a concurrent
            # first join holds the row until it commits, then this condition is re-read
            s.seated_count < s.max_participants,
            s.publisher_count < bindparam("publisher_cap"),
        )
        .values(
            seated_count=s.seated_count + 1,
            publisher_count=s.publisher_count + bindparam("publishes"),
            joined_count=s.joined_count + 1,
            peak_participants=func.greatest(s.peak_participants, s.joined_count + 1),
            updated_at=case(
                (s.joined_count + 1 > s.peak_participants, bindparam("now", type_=UTCDateTime)),
                else_=s.updated_at,
            ),
        )
        .returning(s.id)
        .cte("admitted")
    )
    seat = insert(PARTICIPANTS).from_select(
        PARTICIPANT_FIELDS,
        select(
            *(
                bindparam(f"p_{name}", type_=_P[name].type).label(name)
                for name in PARTICIPANT_FIELDS
            )
        ).select_from(admitted),
    )
    event = insert(outbox.OUTBOX).from_select(
        outbox.EVENT_KEYS,
        select(
            *(
                bindparam(f"e_{key}", type_=outbox.OUTBOX.c[key].type).label(key)
                for key in outbox.EVENT_KEYS
            )
        ).select_from(admitted),
    )
    query = select(func.count()).select_from(admitted).add_cte(seat.cte("seat"), event.cte("event"))
    return Native.of(query)


_TAKE_FIRST_SEAT = _take_first_seat_statement()


async def take_first_seat(
    db: Reader,
    session: SessionRecord,
    me: ParticipantRecord,
    *,
    publishes: bool,
    publisher_cap: int | None,
    event: dict[str, Any],
) -> bool:
    """A newcomer's seat in one autocommitted PostgreSQL statement: the session's counters
    checked and bumped (its row locked for just that statement), the participant row and
    the outbox ``event`` inserted. False when the session no longer looks as ``session``
    (the caller's checks were made on it), is full, or its mesh room has ``publisher_cap``
    publishers; the caller then takes the locked path. A concurrent first join of the same
    user fails the participant insert (unique per session and user): False too."""
    values = {f"p_{name}": getattr(me, name) for name in PARTICIPANT_FIELDS}
    values.update({f"e_{key}": event[key] for key in outbox.EVENT_KEYS})
    values.update(
        sid=session.id,
        owner_id=session.owner_id,
        is_public=session.is_public,
        invite_version=session.invite_version,
        password_hash=session.password_hash,
        default_role=session.default_role,
        provider=session.provider,
        publisher_cap=_NO_CAP if publisher_cap is None else publisher_cap,
        publishes=1 if publishes else 0,
        now=me.created_at,
    )
    assert db.driver is not None, "PostgreSQL only (SQLite has no data-modifying CTEs)"
    try:
        taken = await db.run_native(_TAKE_FIRST_SEAT, values)
    except asyncpg.UniqueViolationError:
        return False
    return bool(taken == 1)


_NO_CAP = 2**31 - 1
