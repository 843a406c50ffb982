"""The seats unit: participants' rows and the session's seat counters, and the only code
that takes, frees, admits or re-roles a seat.

Each writing function here checks what it must (the seat rule of ``domain.seats``, the
participant's status transition), writes the seat, records its outbox event, and leaves the
counters exact, in the caller's transaction. Nothing outside this module writes a
participant's status or role, or the counters.

The counters (``live_sessions.seated_count``, ``publisher_count``, ``joined_count``) say who
is joined now. The one-statement first join (PostgreSQL, ``take_first_seat``) checks and
bumps them; every other change counts them again from the participants (``_recount``),
under the session row lock, so they come out exact whatever came before. A first join that
finds them full, or the session changed, takes the locked path (``take_seat``), which
counts the participants themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    String,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)

from liveclass.db import outbox
from liveclass.db.database import Native, Reader, Statement, Tx, UniqueClash
from liveclass.db.records import Build, changed, values_of
from liveclass.db.sessions import SESSION_COLUMNS, SessionRecord, build_session
from liveclass.db.tables import OUTBOX_EVENTS, PARTICIPANTS, SESSIONS
from liveclass.db.types import UTCDateTime
from liveclass.domain.errors import Conflict
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus, check_participant_transition
from liveclass.domain.roles import PUBLISHING_ROLES, SEATED_ROLES, Role
from liveclass.domain.seats import RoomCount, SeatLimit

_P = PARTICIPANTS.c
_S = SESSIONS.c


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    """A participants row."""

    id: uuid.UUID
    session_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    status: ParticipantStatus
    token_version: int
    first_joined_at: datetime
    last_joined_at: datetime
    left_at: datetime | None
    kicked_at: datetime | None
    created_at: datetime

    @property
    def holds_seat(self) -> bool:
        return self.status is ParticipantStatus.JOINED


PARTICIPANT_FIELDS = tuple(f.name for f in fields(ParticipantRecord))
# beside a session's columns in one row, a participant's carry a prefix
_PREFIX = "p_"
PARTICIPANT_COLUMNS = tuple(_P[name] for name in PARTICIPANT_FIELDS)
_PREFIXED = tuple(_P[name].label(_PREFIX + name) for name in PARTICIPANT_FIELDS)
build_participant = Build(ParticipantRecord)
_build_prefixed = Build(ParticipantRecord, prefix=_PREFIX)


@dataclass(frozen=True, slots=True)
class Seat:
    """A session and a participant's row in it, read in one statement."""

    session: SessionRecord
    participant: ParticipantRecord


# -- reads ---------------------------------------------------------------------------------

# Built once: a prepared statement's cache key is computed once, not per request.
# The session, with the caller's seat when they have one (an outer join: a newcomer gets
# the session alone, which the one-statement first join needs).
_SEAT_OF_USER = Statement.of(
    select(*SESSION_COLUMNS, *_PREFIXED)
    .outerjoin_from(
        SESSIONS, PARTICIPANTS, (_P.session_id == _S.id) & (_P.user_id == bindparam("uid"))
    )
    .where(_S.id == bindparam("sid"))
)
_SEAT_BY_ID = Statement.of(
    select(*SESSION_COLUMNS, *_PREFIXED)
    .join_from(PARTICIPANTS, SESSIONS, _S.id == _P.session_id)
    .where(_P.session_id == bindparam("sid"), _P.id == bindparam("pid"))
)
_BY_USER = Statement.of(
    select(*PARTICIPANT_COLUMNS).where(
        _P.session_id == bindparam("sid"), _P.user_id == bindparam("uid")
    )
)
_BY_ID = Statement.of(
    select(*PARTICIPANT_COLUMNS).where(_P.session_id == bindparam("sid"), _P.id == bindparam("pid"))
)
_EVERYONE = Statement.of(
    select(*PARTICIPANT_COLUMNS)
    .where(_P.session_id == bindparam("sid"))
    .order_by(_P.first_joined_at, _P.id)
)


async def seat_of_user(
    db: Reader, *, session_id: uuid.UUID, user_id: str
) -> tuple[SessionRecord, ParticipantRecord | None] | None:
    """The session and the caller's seat in it (None when they have none); None when there
    is no such session."""
    row = await db.one(_SEAT_OF_USER, {"sid": session_id, "uid": user_id})
    if row is None:
        return None
    return build_session(row), _build_prefixed.maybe(row)


async def seat_by_id(
    db: Reader, *, session_id: uuid.UUID, participant_id: uuid.UUID
) -> Seat | None:
    row = await db.one(_SEAT_BY_ID, {"sid": session_id, "pid": participant_id})
    return None if row is None else Seat(build_session(row), _build_prefixed(row))


async def get_by_user(
    db: Reader, *, session_id: uuid.UUID, user_id: str
) -> ParticipantRecord | None:
    return build_participant.maybe(await db.one(_BY_USER, {"sid": session_id, "uid": user_id}))


async def get_participant(
    db: Reader, *, session_id: uuid.UUID, participant_id: uuid.UUID
) -> ParticipantRecord | None:
    row = await db.one(_BY_ID, {"sid": session_id, "pid": participant_id})
    return build_participant.maybe(row)


async def all_participants(db: Reader, *, session_id: uuid.UUID) -> list[ParticipantRecord]:
    return [build_participant(row) for row in await db.all(_EVERYONE, {"sid": session_id})]


async def participant_page(
    db: Reader,
    *,
    session_id: uuid.UUID,
    status: ParticipantStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[ParticipantRecord], int]:
    where = [_P.session_id == session_id]
    if status is not None:
        where.append(_P.status == status.value)
    total = await db.value(select(func.count()).select_from(PARTICIPANTS).where(*where))
    rows = await db.all(
        select(*PARTICIPANT_COLUMNS)
        .where(*where)
        .order_by(_P.first_joined_at, _P.id)
        .offset(offset)
        .limit(limit)
    )
    return [build_participant(row) for row in rows], int(total or 0)


# -- the locked view of a room -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockedRoom:
    """A session with its row locked until the transaction ends, a participant's seat in it
    (None for a newcomer), and everyone else joined, counted after the lock was granted."""

    session: SessionRecord
    me: ParticipantRecord | None
    others: RoomCount


def _others_query() -> Statement:
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
        select(others, *_PREFIXED).outerjoin_from(
            others, PARTICIPANTS, (_P.session_id == sid) & (_P.user_id == uid)
        )
    )


_OTHERS = _others_query()
_LOCK = Statement.of(select(*SESSION_COLUMNS).where(_S.id == bindparam("sid")).with_for_update())


async def lock_room(tx: Tx, *, session_id: uuid.UUID, user_id: str) -> LockedRoom | None:
    """The session locked (first joins queue here on PostgreSQL; SQLite already holds the
    database write lock, BEGIN IMMEDIATE), then ``user_id``'s seat and the counts of the
    others in one statement: on PostgreSQL a statement's snapshot starts with the
    statement, so these counts see every seat change committed before the lock."""
    locked = await tx.one(_LOCK, {"sid": session_id})
    if locked is None:
        return None
    row = await tx.one(_OTHERS, {"sid": session_id, "uid": user_id})
    assert row is not None  # the counts are an aggregate: always one row
    others = RoomCount(
        seated=int(row["seated"]), publishing=int(row["publishing"]), everyone=int(row["everyone"])
    )
    return LockedRoom(build_session(locked), _build_prefixed.maybe(row), others)


# -- the writes: taking, freeing, admitting, re-roling ---------------------------------------


def new_seat(
    *,
    session_id: uuid.UUID,
    user_id: str,
    name: str,
    role: Role,
    status: ParticipantStatus,
    at: datetime,
) -> ParticipantRecord:
    """A newcomer's row, not yet written (``take_seat`` or ``take_first_seat`` write it)."""
    return ParticipantRecord(
        id=uuid.uuid4(),
        session_id=session_id,
        user_id=user_id,
        name=name,
        role=role,
        status=status,
        token_version=1,
        first_joined_at=at,
        last_joined_at=at,
        left_at=None,
        kicked_at=None,
        created_at=at,
    )


def arriving(
    was: ParticipantRecord, *, name: str, role: Role, status: ParticipantStatus, at: datetime
) -> ParticipantRecord:
    """``was`` arriving again (a return after leaving, a reload) in ``status`` and ``role``:
    the status transition checked."""
    if was.status != status:
        check_participant_transition(was.status, status)
        was = replace(was, status=status, last_joined_at=at, left_at=None)
    return replace(was, role=role, name=name)


async def take_seat(tx: Tx, *, room: LockedRoom, me: ParticipantRecord, limit: SeatLimit) -> bool:
    """Write ``me`` (``new_seat`` or ``arriving``) into the locked ``room``: a seat taken
    only if ``limit`` leaves one (else ``SESSION_FULL`` / ``MESH_FULL``), the peak raised,
    ``participant.joined`` recorded, the counters counted. False when the row changed since
    ``room`` read it (a kick or role change committed meanwhile): read again."""
    was = room.me
    taking = me.holds_seat and not (was is not None and was.holds_seat)
    if taking:
        refusal = limit.refusal(room.others)
        if refusal is not None:
            raise refusal
    peak = room.others.everyone + (1 if me.holds_seat else 0)
    rising = peak if peak > room.session.peak_participants else None
    if was is None:
        await _first_write(tx, me, peak=rising, event=joined_event(me))
    else:
        if not await _update_seat(tx, me, was=was):
            return False
        if rising is not None:
            await _raise_peak(tx, session_id=me.session_id, peak=rising, at=me.last_joined_at)
        await outbox.add_values(tx, joined_event(me))
    await _recount(tx, me.session_id)
    return True


async def seat_again(tx: Tx, *, me: ParticipantRecord, was: ParticipantRecord) -> bool:
    """Someone seated joins again under another name: the name written (only if the row
    still holds what ``was`` read) and ``participant.joined`` recorded. No seat changes
    hands, so no lock and no count."""
    if not await _update_seat(tx, me, was=was):
        return False
    await outbox.add_values(tx, joined_event(me))
    return True


async def take_first_seat(
    db: Reader, *, session: SessionRecord, me: ParticipantRecord, limit: SeatLimit
) -> bool:
    """A newcomer's seat in one autocommitted PostgreSQL statement: the session's counters
    compared with ``limit`` and bumped (its row locked for just that statement), the
    participant row and its ``participant.joined`` event inserted. False when the session
    no longer looks as ``session`` (the caller's checks were made on it), when ``limit``
    leaves no seat, when a concurrent first join of the same user won (the participant
    insert is unique per session and user), or on SQLite (no data-modifying CTEs): the
    caller then takes the locked path, which says why."""
    if not db.on_postgresql:
        return False
    values = values_of(me, prefix="p_")
    event = joined_event(me)
    values.update({f"e_{key}": event[key] for key in outbox.EVENT_KEYS})
    values.update(
        sid=session.id,
        owner_id=session.owner_id,
        is_public=session.is_public,
        invite_version=session.invite_version,
        password_hash=session.password_hash,
        default_role=session.default_role.value,
        provider=session.provider,
        seats=limit.seats,
        publishers=limit.publishers,
        publishes=1 if me.role.value in PUBLISHING_ROLES else 0,
        seated=1 if me.role.value in SEATED_ROLES else 0,
        now=me.created_at,
    )
    try:
        taken = await db.run_native(_TAKE_FIRST_SEAT, values)
    except UniqueClash:
        return False
    return bool(taken == 1)


async def leave(tx: Tx, *, me: ParticipantRecord, at: datetime) -> ParticipantRecord:
    """``me`` leaves (from joined or waiting): ``participant.left`` recorded, the counters
    counted. Run it with the session row locked."""
    now = await _move(tx, me, replace(me, status=ParticipantStatus.LEFT, left_at=at))
    await outbox.add(
        tx,
        event_type="participant.left",
        session_id=me.session_id,
        payload={"participant_id": str(me.id), "user_id": me.user_id},
    )
    await _recount(tx, me.session_id)
    return now


async def kick(tx: Tx, *, target: ParticipantRecord, at: datetime) -> ParticipantRecord:
    """Put ``target`` out for good: its token version bumped (every access token issued so
    far stops working), ``participant.kicked`` recorded, the counters counted."""
    kicked = replace(
        target,
        status=ParticipantStatus.KICKED,
        kicked_at=at,
        left_at=target.left_at or at,
        token_version=target.token_version + 1,
    )
    now = await _move(tx, target, kicked)
    await outbox.add(
        tx,
        event_type="participant.kicked",
        session_id=target.session_id,
        payload={"participant_id": str(target.id), "user_id": target.user_id},
    )
    await _recount(tx, target.session_id)
    return now


async def admit(
    tx: Tx, *, room: LockedRoom, target: ParticipantRecord, limit: SeatLimit, at: datetime
) -> ParticipantRecord:
    """Let ``target`` in from the waiting room if ``limit`` leaves a seat in ``room`` (whose
    counts leave ``target`` out), the peak raised, the counters counted."""
    refusal = limit.refusal(room.others)
    if refusal is not None:
        raise refusal
    now = await _move(
        tx, target, replace(target, status=ParticipantStatus.JOINED, last_joined_at=at)
    )
    peak = room.others.everyone + 1
    if peak > room.session.peak_participants:
        await _raise_peak(tx, session_id=target.session_id, peak=peak, at=at)
    await _recount(tx, target.session_id)
    return now


async def deny(tx: Tx, *, target: ParticipantRecord) -> ParticipantRecord:
    """Refuse ``target`` at the waiting room: its token version bumped."""
    denied = replace(
        target, status=ParticipantStatus.DENIED, token_version=target.token_version + 1
    )
    now = await _move(tx, target, denied)
    await _recount(tx, target.session_id)
    return now


async def change_role(
    tx: Tx, *, room: LockedRoom, target: ParticipantRecord, role: Role, limit: SeatLimit
) -> ParticipantRecord:
    """Give ``target`` another role; a seated one only if ``limit`` (``SeatRule.role_change``)
    allows it among ``room``'s others. ``participant.role_changed`` recorded, the counters
    counted."""
    if target.holds_seat and role != target.role:
        refusal = limit.refusal(room.others)
        if refusal is not None:
            raise refusal
    now = await _move(tx, target, replace(target, role=role))
    await outbox.add(
        tx,
        event_type="participant.role_changed",
        session_id=target.session_id,
        payload={"participant_id": str(target.id), "role": role.value},
    )
    await _recount(tx, target.session_id)
    return now


_LEAVE_ALL = Statement.of(
    update(PARTICIPANTS)
    .where(
        _P.session_id == bindparam("sid"),
        _P.status.in_(
            [literal(ParticipantStatus.JOINED.value), literal(ParticipantStatus.WAITING.value)]
        ),
    )
    .values(status=ParticipantStatus.LEFT.value, left_at=bindparam("at", type_=UTCDateTime))
)


async def free_all(tx: Tx, *, session_id: uuid.UUID, at: datetime) -> None:
    """Everyone joined or waiting leaves (the class ended or was cancelled)."""
    await tx.run(_LEAVE_ALL, {"sid": session_id, "at": at})
    await _recount(tx, session_id)


def joined_event(me: ParticipantRecord) -> dict[str, Any]:
    """The ``participant.joined`` outbox event's columns."""
    return outbox.event_values(
        "participant.joined",
        session_id=me.session_id,
        payload={"participant_id": str(me.id), "user_id": me.user_id, "status": me.status.value},
    )


# -- the statements behind them --------------------------------------------------------------

# The columns a seat's changes write, and the UPDATE per set of them, built once.
_SEAT_COLUMNS = (
    "name",
    "role",
    "status",
    "token_version",
    "last_joined_at",
    "left_at",
    "kicked_at",
)
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
            .values({name: bindparam(f"new_{name}", type_=_P[name].type) for name in names})
        )
        found = _UPDATES[names] = Statement.of(query)
    return found


async def _update_seat(tx: Tx, me: ParticipantRecord, *, was: ParticipantRecord) -> bool:
    """Write ``me`` over ``was``, only if the row still holds what ``was`` read (status,
    role, token version): a kick or role change committed meanwhile wins, and False says so.
    """
    new = changed(me, was, _SEAT_COLUMNS)
    if not new:
        return True
    values: dict[str, Any] = {f"new_{name}": value for name, value in new.items()}
    values.update(
        was_id=was.id,
        was_status=was.status.value,
        was_role=was.role.value,
        was_token_version=was.token_version,
    )
    return await tx.run(_update_seat_query(tuple(new)), values) == 1


async def _move(tx: Tx, was: ParticipantRecord, me: ParticipantRecord) -> ParticipantRecord:
    """The one checked move of a seat under the session lock: the status transition
    checked, then written only over what ``was`` read."""
    if me.status != was.status:
        check_participant_transition(was.status, me.status)
    if not await _update_seat(tx, me, was=was):
        # the session row is locked and ``was`` was read under it: nothing else moved it
        raise Conflict("The participant changed meanwhile; try again.", code="JOIN_CONFLICT")
    return me


_RAISE_PEAK_UPDATE = (
    update(SESSIONS)
    .where(_S.id == bindparam("sid"), _S.peak_participants < bindparam("peak"))
    .values(peak_participants=bindparam("peak"), updated_at=bindparam("updated_at"))
)
_RAISE_PEAK = Statement.of(_RAISE_PEAK_UPDATE)


async def _raise_peak(tx: Tx, *, session_id: uuid.UUID, peak: int, at: datetime) -> None:
    await tx.run(_RAISE_PEAK, {"sid": session_id, "peak": peak, "updated_at": at})


# A first seat's writes (the participant row, the session's peak when it rises, the outbox
# event) as one PostgreSQL statement, data-modifying CTEs that all run: one round trip
# instead of three, and the session row lock is held that much shorter. SQLite has no
# data-modifying CTEs and runs the three statements.
_FIRST_WRITES: dict[bool, Native] = {}
_INSERT = Statement.of(PARTICIPANTS.insert(), keys=PARTICIPANT_FIELDS)


def _first_write_statement(raise_peak: bool) -> Native:
    found = _FIRST_WRITES.get(raise_peak)
    if found is None:
        seat = PARTICIPANTS.insert().values(
            {name: bindparam(f"p_{name}", type_=_P[name].type) for name in PARTICIPANT_FIELDS}
        )
        event = OUTBOX_EVENTS.insert().values(
            {
                key: bindparam(f"e_{key}", type_=OUTBOX_EVENTS.c[key].type)
                for key in outbox.EVENT_KEYS
            }
        )
        ctes = [seat.cte("seat"), event.cte("event")]
        if raise_peak:
            ctes.append(_RAISE_PEAK_UPDATE.cte("peak"))
        found = _FIRST_WRITES[raise_peak] = Native.of(select(literal(1)).add_cte(*ctes))
    return found


async def _first_write(
    tx: Tx, me: ParticipantRecord, *, peak: int | None, event: dict[str, Any]
) -> None:
    if not tx.on_postgresql:
        await tx.run(_INSERT, values_of(me))
        if peak is not None:
            await _raise_peak(tx, session_id=me.session_id, peak=peak, at=me.created_at)
        await outbox.add_values(tx, event)
        return
    values = values_of(me, prefix="p_")
    values.update({f"e_{key}": event[key] for key in outbox.EVENT_KEYS})
    values.update(sid=me.session_id, peak=peak, updated_at=me.created_at)
    await tx.run_native(_first_write_statement(peak is not None), values)


def _joined_count(*roles: str) -> Any:
    query = select(func.count()).where(
        _P.session_id == _S.id, _P.status == literal(ParticipantStatus.JOINED.value)
    )
    if roles:
        query = query.where(_P.role.in_([literal(role) for role in roles]))
    return query.scalar_subquery()


_RECOUNT = Statement.of(
    update(SESSIONS)
    .where(_S.id == bindparam("sid"))
    .values(
        seated_count=_joined_count(*SEATED_ROLES),
        publisher_count=_joined_count(*PUBLISHING_ROLES),
        joined_count=_joined_count(),
        updated_at=_S.updated_at,  # counting is no change of the session
    )
)


async def _recount(tx: Tx, session_id: uuid.UUID) -> None:
    """Count the session's joined participants into its counters, after the change of a
    seat, in its transaction, with the session row locked: then no first join can take a
    seat between the count and the commit."""
    await tx.run(_RECOUNT, {"sid": session_id})


def _take_first_seat_statement() -> Native:
    admitted = (
        update(SESSIONS)
        .where(
            _S.id == bindparam("sid"),
            # the session as the caller's checks saw it (entry, role, waiting room)...
            _S.status == literal(SessionStatus.LIVE.value),
            _S.waiting_room.is_(False),
            _S.owner_id == bindparam("owner_id"),
            _S.is_public == bindparam("is_public"),
            _S.invite_version == bindparam("invite_version"),
            _S.password_hash.is_not_distinct_from(bindparam("password_hash", type_=String)),
            _S.default_role == bindparam("default_role"),
            _S.provider == bindparam("provider"),
            # ...and room under the seat rule's limit (SeatLimit: the same comparison as
            # its refusal()), checked against the row's newest version: a concurrent first
            # join holds the row until it commits, then this condition is re-read
            _S.seated_count < bindparam("seats"),
            _S.publisher_count < bindparam("publishers"),
        )
        .values(
            seated_count=_S.seated_count + bindparam("seated"),
            publisher_count=_S.publisher_count + bindparam("publishes"),
            joined_count=_S.joined_count + 1,
            peak_participants=func.greatest(_S.peak_participants, _S.joined_count + 1),
            updated_at=case(
                (_S.joined_count + 1 > _S.peak_participants, bindparam("now", type_=UTCDateTime)),
                else_=_S.updated_at,
            ),
        )
        .returning(_S.id)
        .cte("admitted")
    )
    seat = PARTICIPANTS.insert().from_select(
        PARTICIPANT_FIELDS,
        select(
            *(
                bindparam(f"p_{name}", type_=_P[name].type).label(name)
                for name in PARTICIPANT_FIELDS
            )
        ).select_from(admitted),
    )
    event = OUTBOX_EVENTS.insert().from_select(
        outbox.EVENT_KEYS,
        select(
            *(
                bindparam(f"e_{key}", type_=OUTBOX_EVENTS.c[key].type).label(key)
                for key in outbox.EVENT_KEYS
            )
        ).select_from(admitted),
    )
    query = select(func.count()).select_from(admitted).add_cte(seat.cte("seat"), event.cte("event"))
    return Native.of(query)


_TAKE_FIRST_SEAT = _take_first_seat_statement()
