"""Participant use cases: join, leave, refresh, kick, change role, admit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from liveclass.auth.issued import AccessClaims
from liveclass.auth.passwords import verify_password
from liveclass.control.sessions import ensure_room, stored_room
from liveclass.db import attendance, outbox
from liveclass.db import participants as queries
from liveclass.db import sessions as session_queries
from liveclass.db.database import Transaction, Writer
from liveclass.db.participants import ParticipantRecord, Seat
from liveclass.db.sessions import SessionRecord
from liveclass.db.tables import LiveSessionRow, ParticipantRow
from liveclass.db.types import utcnow
from liveclass.domain.access import is_owner_or_admin, require_moderator, require_visible
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, NotAllowed, NotFound, Unauthorized
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus, check_participant_transition
from liveclass.domain.roles import (
    PUBLISHING_ROLES,
    SEATED_ROLES,
    Action,
    Role,
    may_assign,
    outranks,
    role_allows,
)
from liveclass.media.backend import MediaParticipant
from liveclass.services import Services

# The hot paths (join, refresh) read records; moderation still works on ORM rows.
AnySession = LiveSessionRow | SessionRecord
AnyParticipant = ParticipantRow | ParticipantRecord

ParticipantRef = uuid.UUID | str
"""Whom a moderation names. A UUID is a participant id (the realtime channel's way). Text
is what the REST paths take (seed 001 names people by the platform's user id there): a
participant id of this session when it reads as a UUID and one has it, otherwise the user
id of a participant of this session, compared exactly. Participant ids come first, so a
platform whose user ids are UUIDs still reaches each person by either id, and the rare user
id equal to another participant's id names that participant (reach its owner by their own
participant id)."""


@dataclass(frozen=True, slots=True)
class JoinRequest:
    invite_token: str | None = None
    password: str | None = None
    display_name: str | None = None  # the name to show in the class (checked by the caller)


@dataclass(frozen=True, slots=True)
class Admission:
    """A participant's ticket into the classroom: who, in what role, and how to connect."""

    session: SessionRecord
    participant: ParticipantRecord
    access_token: str
    expires_at: int
    media: dict[str, Any]


# A seat that changes under a first join (a leave committed meanwhile) is read again.
_JOIN_ATTEMPTS = 3


async def join(
    services: Services, actor: Actor, session_id: uuid.UUID, request: JoinRequest
) -> Admission:
    """Seat ``actor`` in the session, or give them their seat again. The seat carries the
    name they join under (``display_name``, else the platform's), which the participant
    list, the classroom roster and chat, the stats and the media server all show."""
    if request.display_name is not None:
        actor = replace(actor, name=request.display_name)
    async with services.db.reader() as conn:
        found = await queries.seat_of_user(conn, session_id, actor.user_id)
    if found is not None:
        session, me = found
        admission = None
        if me is not None and me.status == ParticipantStatus.JOINED:
            admission = await _rejoin(services, actor, session, me)
        elif me is None and not services.db.is_sqlite:  # one statement needs PostgreSQL
            admission = await _first_seat(services, actor, session, request)
        if admission is not None:
            return admission
    for _ in range(_JOIN_ATTEMPTS):
        admission = await _join_locked(services, actor, session_id, request)
        if admission is not None:
            return admission
    raise Conflict("Your seat changed while joining; try again.", code="JOIN_CONFLICT")


async def _rejoin(
    services: Services, actor: Actor, session: SessionRecord, me: ParticipantRecord
) -> Admission | None:
    """Someone already seated joins again (a reload, a second tab): the same seat, a new ticket.

    The seat counts and the peak cannot change, so this takes no lock, and when the name
    stays the same it writes nothing: a kick committed after this read bumped the token
    version, so the ticket issued here is refused like every older one. None when the seat
    changed meanwhile, or when the role would (an owner who sat as a viewer): the locked
    path then decides, and counts the seats again.
    """
    _check_joinable(session, me)
    role = Role.HOST if is_owner_or_admin(actor, session) else Role(me.role)
    if role.value != me.role:
        return None  # a role change moves the seat counters: the locked path counts
    now = replace(me, name=actor.name)
    if now != me:
        async with services.db.writer() as conn:
            if not await queries.update_seat(conn, now, was=me):
                return None
            await _record_joined(conn, now)
    return await _admission(services, session, now)


async def _join_locked(
    services: Services, actor: Actor, session_id: uuid.UUID, request: JoinRequest
) -> Admission | None:
    """A first join (or a return after leaving, or out of the waiting room), under the
    session row lock so the capacity check and the new seat are one step."""
    async with services.db.writer() as conn:
        session = await queries.lock_session(conn, session_id)
        if session is None:
            raise NotFound("No such session.", code="SESSION_NOT_FOUND")
        was, others = await queries.me_and_others(conn, session_id, actor.user_id)
        _check_joinable(session, was)
        privileged = is_owner_or_admin(actor, session)
        if not privileged and not _previously_admitted(was):
            _check_entry(services, session, request)
        role = Role.HOST if privileged else Role(was.role if was else session.default_role)
        status = _arrival_status(session, was, role)
        if status is ParticipantStatus.JOINED and not _holds_seat(was):
            _refuse_if_full(session, role, others.seated)
            _refuse_if_mesh_full(services, session, role, others.publishing)
        me = _seated(session, was, actor, role, status)
        mine = 1 if status is ParticipantStatus.JOINED else 0
        peak = others.everyone + mine
        rising = peak if peak > session.peak_participants else None
        if was is None:
            await queries.seat_first_time(conn, me, peak=rising, event=_joined(me))
        else:
            if not await queries.update_seat(conn, me, was=was):
                return None
            if rising is not None:
                await queries.raise_peak(conn, session.id, rising)
            await _record_joined(conn, me)
        await queries.recount(conn, session.id)
    return await _admission(services, session, me)


async def _first_seat(
    services: Services,
    actor: Actor,
    session: SessionRecord,
    request: JoinRequest,
) -> Admission | None:
    """A newcomer into a live class without a waiting room, on PostgreSQL: the checks here
    on the session as read, then one statement that takes the seat only if the session still
    looks so and has room (``queries.take_first_seat``). None sends the join to the locked
    path: the host, a waiting room, a class not live, a full one, or one that changed."""
    if (
        session.status != SessionStatus.LIVE
        or session.waiting_room
        or is_owner_or_admin(actor, session)
    ):
        return None
    _check_entry(services, session, request)
    role = Role(session.default_role)
    me = _seated(session, None, actor, role, ParticipantStatus.JOINED)
    publishes = role_allows(role, Action.PUBLISH)
    capped = session.provider == "mesh" and publishes
    async with services.db.reader() as conn:
        taken = await queries.take_first_seat(
            conn,
            session,
            me,
            publishes=publishes,
            publisher_cap=services.settings.mesh_max_publishers if capped else None,
            event=_joined(me),
        )
    return await _admission(services, session, me) if taken else None


def _joined(me: ParticipantRecord) -> dict[str, Any]:
    """The ``participant.joined`` outbox event's columns."""
    return outbox.event_values(
        "participant.joined",
        session_id=me.session_id,
        payload={"participant_id": str(me.id), "user_id": me.user_id, "status": me.status},
    )


async def _record_joined(conn: Writer, me: ParticipantRecord) -> None:
    await outbox.add_values(conn, _joined(me))


def _holds_seat(me: ParticipantRecord | ParticipantRow | None) -> bool:
    return me is not None and me.status == ParticipantStatus.JOINED


def _check_joinable(session: AnySession, me: AnyParticipant | None) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.", code="SESSION_CANCELLED")
    if session.status == SessionStatus.ENDED:
        raise Conflict("This session has ended.", code="SESSION_ENDED")
    if me is not None and me.status == ParticipantStatus.KICKED:
        raise NotAllowed("You were removed from this session.", code="KICKED")
    if me is not None and me.status == ParticipantStatus.DENIED:
        raise NotAllowed("The host did not admit you to this session.", code="DENIED")


def _previously_admitted(me: AnyParticipant | None) -> bool:
    return me is not None and me.status in (ParticipantStatus.JOINED, ParticipantStatus.LEFT)


def _check_entry(services: Services, session: SessionRecord, request: JoinRequest) -> None:
    if not session.is_public:
        if not request.invite_token:
            raise NotAllowed("This private session needs an invite token.", code="INVITE_REQUIRED")
        if not services.issuer.invite_matches(
            request.invite_token, session_id=session.id, version=session.invite_version
        ):
            raise NotAllowed("The invite token is invalid or was rotated.", code="INVITE_INVALID")
    if session.password_hash is not None:
        if not request.password:
            raise NotAllowed("This session needs a password.", code="PASSWORD_REQUIRED")
        if not verify_password(request.password, session.password_hash):
            raise NotAllowed("The password is wrong.", code="WRONG_PASSWORD")


def _arrival_status(
    session: SessionRecord, me: ParticipantRecord | None, role: Role
) -> ParticipantStatus:
    if role is Role.HOST:
        return ParticipantStatus.JOINED
    if me is not None and me.status == ParticipantStatus.JOINED:
        return ParticipantStatus.JOINED
    if session.waiting_room and not _previously_admitted(me):
        return ParticipantStatus.WAITING
    if session.status == SessionStatus.SCHEDULED:
        raise Conflict(
            "The session has not started yet; only the host may join before the start.",
            code="SESSION_NOT_STARTED",
        )
    return ParticipantStatus.JOINED


async def _check_capacity(
    services: Services,
    tx: Transaction,
    session: LiveSessionRow,
    role: Role,
    me: ParticipantRow | None,
    seated: int,
) -> None:
    if _holds_seat(me):
        return  # re-joining keeps the seat already held
    _refuse_if_full(session, role, seated)
    await _check_mesh_publishers(services, tx, session, role, me)


def _refuse_if_full(session: AnySession, role: Role, seated: int) -> None:
    if role is not Role.HOST and seated >= session.max_participants:
        raise Conflict(
            f"The session is full ({session.max_participants} participants).",
            code="SESSION_FULL",
        )


async def _check_mesh_publishers(
    services: Services,
    tx: Transaction,
    session: LiveSessionRow,
    role: Role,
    me: ParticipantRow | None,
) -> None:
    if session.provider != "mesh" or not role_allows(role, Action.PUBLISH):
        return
    publishers = await queries.count_in(
        tx,
        session.id,
        statuses=[ParticipantStatus.JOINED.value],
        roles=PUBLISHING_ROLES,
        excluding=me.id if me else None,
    )
    _refuse_if_mesh_full(services, session, role, publishers)


def _refuse_if_mesh_full(
    services: Services, session: AnySession, role: Role, publishers: int
) -> None:
    if session.provider != "mesh" or not role_allows(role, Action.PUBLISH):
        return
    cap = services.settings.mesh_max_publishers
    if publishers >= cap:
        raise Conflict(
            f"Peer-to-peer (mesh) sessions carry at most {cap} publishers; "
            "create the session with an SFU provider such as 'janus' for larger classes.",
            code="MESH_FULL",
        )


def _seated(
    session: SessionRecord,
    me: ParticipantRecord | None,
    actor: Actor,
    role: Role,
    status: ParticipantStatus,
) -> ParticipantRecord:
    now = utcnow()
    if me is None:
        return ParticipantRecord(
            id=uuid.uuid4(),
            session_id=session.id,
            user_id=actor.user_id,
            name=actor.name,
            role=role.value,
            status=status.value,
            token_version=1,
            first_joined_at=now,
            last_joined_at=now,
            left_at=None,
            kicked_at=None,
            created_at=now,
        )
    if me.status != status:
        check_participant_transition(ParticipantStatus(me.status), status)
        me = replace(me, status=status.value, last_joined_at=now, left_at=None)
    return replace(me, role=role.value, name=actor.name)


async def _admission(
    services: Services, session: SessionRecord, me: ParticipantRecord
) -> Admission:
    token, expires_at = services.issuer.access_token(
        session_id=session.id,
        participant_id=me.id,
        user_id=me.user_id,
        name=me.name,
        role=Role(me.role),
        token_version=me.token_version,
    )
    media: dict[str, Any] = {"provider": session.provider}
    if session.status == SessionStatus.LIVE and me.status == ParticipantStatus.JOINED:
        room = stored_room(session) or await ensure_room(services, session)
        media.update(await services.backend(session.provider).grant(room, _media_who(me)))
    return Admission(
        session=session, participant=me, access_token=token, expires_at=expires_at, media=media
    )


def _media_who(me: AnyParticipant) -> MediaParticipant:
    return MediaParticipant(
        participant_id=me.id, user_id=me.user_id, name=me.name, role=Role(me.role)
    )


async def refresh(services: Services, claims: AccessClaims) -> Admission:
    """A fresh access token for a participant still in the session (the classroom's reconnect)."""
    seat = await still_in(services, claims)
    return await _admission(services, seat.session, seat.participant)


async def still_in(services: Services, claims: AccessClaims) -> Seat:
    """The seat an access token (its signature already checked) stands for, read from the
    database: a token outlives a kick or the end of the class, its signature does not know."""
    async with services.db.reader() as conn:
        seat = await queries.seat_by_id(conn, claims.session_id, claims.participant_id)
    if seat is None:
        raise Unauthorized("The access token does not match this session.", code="TOKEN_INVALID")
    check_access(seat.session, seat.participant, claims)
    return seat


def check_access(session: AnySession, me: AnyParticipant | None, claims: AccessClaims) -> None:
    """Is this access token still good? Used by refresh and by the realtime channel."""
    if session.id != claims.session_id or me is None or me.user_id != claims.user_id:
        raise Unauthorized("The access token does not match this session.", code="TOKEN_INVALID")
    if me.status == ParticipantStatus.KICKED or claims.token_version < me.token_version:
        raise NotAllowed("You were removed from this session.", code="KICKED")
    if session.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
        raise Conflict(f"This session is {session.status}.", code="SESSION_ENDED")
    if me.status not in (ParticipantStatus.JOINED, ParticipantStatus.WAITING):
        raise NotAllowed("You are no longer in this session; join again.", code="NOT_IN_SESSION")


async def leave(services: Services, actor: Actor, session_id: uuid.UUID) -> ParticipantRow:
    async with services.db.transaction() as tx:
        session = await _session(tx, session_id, for_update=True)  # the seat counters change
        me = await queries.get_by_user(tx, session_id, actor.user_id)
        # a private class answers those it put out (and strangers) as if it did not exist
        require_visible(actor, session, me)
        if me is None:
            raise NotFound(
                "You are not a participant of this session.", code="PARTICIPANT_NOT_FOUND"
            )
        if me.status in (ParticipantStatus.JOINED, ParticipantStatus.WAITING):
            me.status = ParticipantStatus.LEFT.value
            me.left_at = utcnow()
            await attendance.close_participant(tx, participant_id=me.id)
            outbox.record_event(
                tx,
                "participant.left",
                session_id=session_id,
                payload={"participant_id": str(me.id), "user_id": me.user_id},
            )
            await queries.recount(tx, session_id)
    await services.room_events.participant_removed(session_id, me.id, "left")
    return me


async def kick(
    services: Services, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef
) -> ParticipantRow:
    async with services.db.transaction() as tx:
        session, target = await _moderated_target(tx, actor, session_id, participant)
        if target.status != ParticipantStatus.KICKED:
            check_participant_transition(ParticipantStatus(target.status), ParticipantStatus.KICKED)
            now = utcnow()
            target.status = ParticipantStatus.KICKED.value
            target.kicked_at = now
            target.left_at = target.left_at or now
            target.token_version += 1  # every access token issued so far stops working
            await attendance.close_participant(tx, participant_id=target.id, at=now)
            outbox.record_event(
                tx,
                "participant.kicked",
                session_id=session_id,
                payload={"participant_id": str(target.id), "user_id": target.user_id},
            )
            await queries.recount(tx, session_id)
    await _media_remove(services, session, target)
    await services.room_events.participant_removed(session_id, target.id, "kicked")
    return target


async def change_role(
    services: Services, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef, role: Role
) -> ParticipantRow:
    async with services.db.transaction() as tx:
        session = await _session(tx, session_id, for_update=True)
        me = await queries.get_by_user(tx, session_id, actor.user_id)
        actor_role = require_moderator(actor, session, me)
        target = await _target(tx, session_id, participant)
        if not may_assign(actor_role, role) or not outranks(actor_role, Role(target.role)):
            raise NotAllowed(
                f"A {actor_role.value} cannot make a {target.role} a {role.value}.",
                code="ROLE_NOT_ALLOWED",
            )
        if target.status == ParticipantStatus.JOINED and role.value != target.role:
            await _check_mesh_publishers(services, tx, session, role, target)
        target.role = role.value
        outbox.record_event(
            tx,
            "participant.role_changed",
            session_id=session_id,
            payload={"participant_id": str(target.id), "role": role.value},
        )
        await queries.recount(tx, session_id)
    room = stored_room(session)
    if room is not None:
        await services.backend(session.provider).apply_role(room, _media_who(target))
    await services.room_events.role_changed(session_id, target.id, role)
    return target


async def admit(
    services: Services,
    actor: Actor,
    session_id: uuid.UUID,
    participant: ParticipantRef,
    *,
    admit: bool,
) -> ParticipantRow:
    async with services.db.transaction() as tx:
        session, target = await _moderated_target(tx, actor, session_id, participant)
        if target.status != ParticipantStatus.WAITING:
            raise Conflict("This participant is not waiting.", code="NOT_WAITING")
        if admit:
            if session.status != SessionStatus.LIVE:
                raise Conflict("Admit people once the session is live.", code="SESSION_NOT_STARTED")
            joined = await queries.count_joined(
                tx, session.id, seated_roles=SEATED_ROLES, excluding=target.id
            )
            await _check_capacity(services, tx, session, Role(target.role), target, joined.seated)
            target.status = ParticipantStatus.JOINED.value
            target.last_joined_at = utcnow()
            session.peak_participants = max(session.peak_participants, joined.everyone + 1)
        else:
            target.status = ParticipantStatus.DENIED.value
            target.token_version += 1
        await queries.recount(tx, session_id)
    if admit:
        await services.room_events.participant_admitted(session_id, target.id)
    else:
        await services.room_events.participant_removed(session_id, target.id, "denied")
    return target


async def _moderated_target(
    tx: Transaction, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef
) -> tuple[LiveSessionRow, ParticipantRow]:
    session = await _session(tx, session_id, for_update=True)
    me = await queries.get_by_user(tx, session_id, actor.user_id)
    actor_role = require_moderator(actor, session, me)
    target = await _target(tx, session_id, participant)
    if not outranks(actor_role, Role(target.role)):
        raise NotAllowed(
            f"A {actor_role.value} cannot moderate a {target.role}.", code="ROLE_NOT_ALLOWED"
        )
    return session, target


async def _target(tx: Transaction, session_id: uuid.UUID, ref: ParticipantRef) -> ParticipantRow:
    target = None
    participant_id = ref if isinstance(ref, uuid.UUID) else _as_uuid(ref)
    if participant_id is not None:
        target = await queries.get_participant(tx, session_id, participant_id)
    if target is None and isinstance(ref, str):
        target = await queries.get_by_user(tx, session_id, ref)
    if target is None:
        raise NotFound("No such participant in this session.", code="PARTICIPANT_NOT_FOUND")
    return target


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _media_remove(
    services: Services, session: LiveSessionRow, target: ParticipantRow
) -> None:
    room = stored_room(session)
    if room is not None:
        await services.backend(session.provider).remove_participant(room, _media_who(target))


async def _session(
    tx: Transaction, session_id: uuid.UUID, *, for_update: bool = False
) -> LiveSessionRow:
    session = await session_queries.get_session(tx, session_id, for_update=for_update)
    if session is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    return session


async def visible_session(
    services: Services, actor: Actor, session_id: uuid.UUID
) -> tuple[LiveSessionRow, ParticipantRow | None]:
    async with services.db.transaction() as tx:
        session = await session_queries.get_session(tx, session_id)
        me = await queries.get_by_user(tx, session_id, actor.user_id) if session else None
        return require_visible(actor, session, me), me
