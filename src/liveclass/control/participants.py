"""Participant use cases: join, leave, refresh, kick, change role, admit.

The seat itself (the rule, the status moves, the counters) is the seats unit's
(``liveclass.db.seats``); these add who may do what, the entry checks, the tokens, the
media server and the room's events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from liveclass.auth.issued import AccessClaims
from liveclass.auth.passwords import verify_password
from liveclass.control.hosted import is_hosted
from liveclass.control.sessions import ensure_room, stored_room
from liveclass.db import attendance, seats
from liveclass.db.database import Tx
from liveclass.db.seats import LockedRoom, ParticipantRecord, Seat
from liveclass.db.sessions import SessionRecord
from liveclass.db.types import utcnow
from liveclass.domain.access import is_owner_or_admin, require_moderator, require_visible
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, NotAllowed, NotFound, Unauthorized
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Role, may_assign, outranks
from liveclass.domain.seats import SeatRule
from liveclass.media.backend import MediaParticipant, MuteKind
from liveclass.services import Services

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
        found = await seats.seat_of_user(conn, session_id=session_id, user_id=actor.user_id)
    if found is not None:
        session, me = found
        admission = None
        if me is not None and me.holds_seat:
            admission = await _rejoin(services, actor, session, me)
        elif me is None:
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
    role = Role.HOST if is_owner_or_admin(actor, session) else me.role
    if role != me.role:
        return None  # a role change moves the seat counters: the locked path counts
    now = replace(me, name=actor.name)
    if now != me:
        async with services.db.transaction() as tx:
            if not await seats.seat_again(tx, me=now, was=me):
                return None
    return await _admission(services, session, now)


async def _join_locked(
    services: Services, actor: Actor, session_id: uuid.UUID, request: JoinRequest
) -> Admission | None:
    """A first join (or a return after leaving, or out of the waiting room), under the
    session row lock so the seat rule and the new seat are one step."""
    async with services.db.transaction() as tx:
        room = await seats.lock_room(tx, session_id=session_id, user_id=actor.user_id)
        if room is None:
            raise NotFound("No such session.", code="SESSION_NOT_FOUND")
        session, was = room.session, room.me
        _check_joinable(session, was)
        privileged = is_owner_or_admin(actor, session)
        if not privileged and not _previously_admitted(was):
            _check_entry(services, session, request)
        role = Role.HOST if privileged else (was.role if was else session.default_role)
        status = _arrival_status(session, was, role)
        now = utcnow()
        if was is None:
            me = seats.new_seat(
                session_id=session.id,
                user_id=actor.user_id,
                name=actor.name,
                role=role,
                status=status,
                at=now,
            )
        else:
            me = seats.arriving(was, name=actor.name, role=role, status=status, at=now)
        limit = _rule(services, session).limit(role)
        if not await seats.take_seat(tx, room=room, me=me, limit=limit):
            return None
    return await _admission(services, session, me)


async def _first_seat(
    services: Services,
    actor: Actor,
    session: SessionRecord,
    request: JoinRequest,
) -> Admission | None:
    """A newcomer into a live class without a waiting room: the checks here on the session
    as read, then one statement that takes the seat only if the session still looks so and
    has room (``seats.take_first_seat``). None sends the join to the locked path: the host,
    a waiting room, a class not live, a full one, one that changed (or SQLite)."""
    if (
        session.status is not SessionStatus.LIVE
        or session.waiting_room
        or is_owner_or_admin(actor, session)
    ):
        return None
    _check_entry(services, session, request)
    role = session.default_role
    me = seats.new_seat(
        session_id=session.id,
        user_id=actor.user_id,
        name=actor.name,
        role=role,
        status=ParticipantStatus.JOINED,
        at=utcnow(),
    )
    limit = _rule(services, session).limit(role)
    async with services.db.reader() as conn:
        taken = await seats.take_first_seat(conn, session=session, me=me, limit=limit)
    return await _admission(services, session, me) if taken else None


def _rule(services: Services, session: SessionRecord) -> SeatRule:
    return SeatRule.of(
        provider=session.provider,
        max_participants=session.max_participants,
        mesh_cap=services.settings.mesh_max_publishers,
    )


def _check_joinable(session: SessionRecord, me: ParticipantRecord | None) -> None:
    if session.status is SessionStatus.CANCELLED:
        raise Conflict("This session was cancelled.", code="SESSION_CANCELLED")
    if session.status is SessionStatus.ENDED:
        raise Conflict("This session has ended.", code="SESSION_ENDED")
    if me is not None and me.status is ParticipantStatus.KICKED:
        raise NotAllowed("You were removed from this session.", code="KICKED")
    if me is not None and me.status is ParticipantStatus.DENIED:
        raise NotAllowed("The host did not admit you to this session.", code="DENIED")


def _previously_admitted(me: ParticipantRecord | None) -> bool:
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
    if me is not None and me.holds_seat:
        return ParticipantStatus.JOINED
    if session.waiting_room and not _previously_admitted(me):
        return ParticipantStatus.WAITING
    if session.status is SessionStatus.SCHEDULED:
        raise Conflict(
            "The session has not started yet; only the host may join before the start.",
            code="SESSION_NOT_STARTED",
        )
    return ParticipantStatus.JOINED


async def _admission(
    services: Services, session: SessionRecord, me: ParticipantRecord
) -> Admission:
    token, expires_at = services.issuer.access_token(
        session_id=session.id,
        participant_id=me.id,
        user_id=me.user_id,
        name=me.name,
        role=me.role,
        token_version=me.token_version,
    )
    media: dict[str, Any] = {"provider": session.provider}
    # a hosted meeting exists from the schedule on: the host opens it before the start
    opened = session.status is SessionStatus.LIVE or (
        session.status is SessionStatus.SCHEDULED and is_hosted(session.provider)
    )
    if opened and me.holds_seat:
        room = stored_room(session) or await ensure_room(services, session)
        media.update(await services.backend(session.provider).grant(room, _media_who(me)))
    return Admission(
        session=session, participant=me, access_token=token, expires_at=expires_at, media=media
    )


def _media_who(me: ParticipantRecord) -> MediaParticipant:
    return MediaParticipant(participant_id=me.id, user_id=me.user_id, name=me.name, role=me.role)


async def refresh(services: Services, claims: AccessClaims) -> Admission:
    """A fresh access token for a participant still in the session (the classroom's reconnect)."""
    seat = await still_in(services, claims)
    return await _admission(services, seat.session, seat.participant)


async def still_in(services: Services, claims: AccessClaims) -> Seat:
    """The seat an access token (its signature already checked) stands for, read from the
    database: a token outlives a kick or the end of the class, its signature does not know."""
    async with services.db.reader() as conn:
        seat = await seats.seat_by_id(
            conn, session_id=claims.session_id, participant_id=claims.participant_id
        )
    if seat is None:
        raise Unauthorized("The access token does not match this session.", code="TOKEN_INVALID")
    check_access(seat.session, seat.participant, claims)
    return seat


def check_access(
    session: SessionRecord, me: ParticipantRecord | None, claims: AccessClaims
) -> None:
    """Is this access token still good? Used by refresh and by the realtime channel."""
    if session.id != claims.session_id or me is None or me.user_id != claims.user_id:
        raise Unauthorized("The access token does not match this session.", code="TOKEN_INVALID")
    if me.status is ParticipantStatus.KICKED or claims.token_version < me.token_version:
        raise NotAllowed("You were removed from this session.", code="KICKED")
    if session.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
        raise Conflict(f"This session is {session.status}.", code="SESSION_ENDED")
    if me.status not in (ParticipantStatus.JOINED, ParticipantStatus.WAITING):
        raise NotAllowed("You are no longer in this session; join again.", code="NOT_IN_SESSION")


async def leave(services: Services, actor: Actor, session_id: uuid.UUID) -> ParticipantRecord:
    async with services.db.transaction() as tx:
        room = await _locked(tx, session_id, actor.user_id)  # the seat counters change
        me = room.me
        # a private class answers those it put out (and strangers) as if it did not exist
        require_visible(actor, room.session, me)
        if me is None:
            raise NotFound(
                "You are not a participant of this session.", code="PARTICIPANT_NOT_FOUND"
            )
        if me.status in (ParticipantStatus.JOINED, ParticipantStatus.WAITING):
            now = utcnow()
            me = await seats.leave(tx, me=me, at=now)
            await attendance.close_participant(tx, participant_id=me.id, at=now)
    await services.room_events.participant_removed(session_id, me.id, "left")
    return me


async def kick(
    services: Services, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef
) -> ParticipantRecord:
    async with services.db.transaction() as tx:
        room, target = await _moderated_target(tx, actor, session_id, participant)
        if target.status is not ParticipantStatus.KICKED:
            now = utcnow()
            target = await seats.kick(tx, target=target, at=now)
            await attendance.close_participant(tx, participant_id=target.id, at=now)
    await _media_remove(services, room.session, target)
    await services.room_events.participant_removed(session_id, target.id, "kicked")
    return target


async def change_role(
    services: Services, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef, role: Role
) -> ParticipantRecord:
    async with services.db.transaction() as tx:
        mine = await _locked(tx, session_id, actor.user_id)
        actor_role = require_moderator(actor, mine.session, mine.me)
        target = await _target(tx, session_id, participant)
        if not may_assign(actor_role, role) or not outranks(actor_role, target.role):
            raise NotAllowed(
                f"A {actor_role.value} cannot make a {target.role.value} a {role.value}.",
                code="ROLE_NOT_ALLOWED",
            )
        room = await _locked(tx, session_id, target.user_id)  # the others, without the target
        limit = _rule(services, room.session).role_change(role)
        target = await seats.change_role(tx, room=room, target=target, role=role, limit=limit)
    backend_room = stored_room(room.session)
    if backend_room is not None:
        await services.backend(room.session.provider).apply_role(backend_room, _media_who(target))
    await services.room_events.role_changed(session_id, target.id, role)
    return target


async def mute(
    services: Services,
    actor: Actor,
    session_id: uuid.UUID,
    participant: ParticipantRef,
    kind: MuteKind,
) -> ParticipantRecord | None:
    """A moderator's mute request, on the media server where the backend can (LiveKit
    mutes the published track); the classroom asks the person's browser in any case.

    Only someone the moderator outranks is muted on the server; None when nobody was (a
    host asked by a co-host still gets the request in their browser, as before)."""
    async with services.db.reader() as conn:
        found = await seats.seat_of_user(conn, session_id=session_id, user_id=actor.user_id)
        if found is None:
            raise NotFound("No such session.", code="SESSION_NOT_FOUND")
        session, mine = found
        actor_role = require_moderator(actor, session, mine)
        participant_id = participant if isinstance(participant, uuid.UUID) else None
        target = None
        if participant_id is not None:
            target = await seats.get_participant(
                conn, session_id=session_id, participant_id=participant_id
            )
    room = stored_room(session)
    if target is None or room is None or not target.holds_seat:
        return None
    if not outranks(actor_role, target.role):
        return None
    await services.backend(session.provider).mute(room, _media_who(target), kind)
    return target


async def admit(
    services: Services,
    actor: Actor,
    session_id: uuid.UUID,
    participant: ParticipantRef,
    *,
    admit: bool,
) -> ParticipantRecord:
    async with services.db.transaction() as tx:
        room, target = await _moderated_target(tx, actor, session_id, participant)
        if target.status is not ParticipantStatus.WAITING:
            raise Conflict("This participant is not waiting.", code="NOT_WAITING")
        if admit:
            if room.session.status is not SessionStatus.LIVE:
                raise Conflict("Admit people once the session is live.", code="SESSION_NOT_STARTED")
            limit = _rule(services, room.session).limit(target.role)
            target = await seats.admit(tx, room=room, target=target, limit=limit, at=utcnow())
        else:
            target = await seats.deny(tx, target=target)
    if admit:
        await services.room_events.participant_admitted(session_id, target.id)
    else:
        await services.room_events.participant_removed(session_id, target.id, "denied")
    return target


async def _moderated_target(
    tx: Tx, actor: Actor, session_id: uuid.UUID, participant: ParticipantRef
) -> tuple[LockedRoom, ParticipantRecord]:
    """The session locked, the actor's right to moderate checked, and the target with the
    room counted around it (its others leave the target out)."""
    mine = await _locked(tx, session_id, actor.user_id)
    actor_role = require_moderator(actor, mine.session, mine.me)
    target = await _target(tx, session_id, participant)
    if not outranks(actor_role, target.role):
        raise NotAllowed(
            f"A {actor_role.value} cannot moderate a {target.role.value}.",
            code="ROLE_NOT_ALLOWED",
        )
    return await _locked(tx, session_id, target.user_id), target


async def _locked(tx: Tx, session_id: uuid.UUID, user_id: str) -> LockedRoom:
    room = await seats.lock_room(tx, session_id=session_id, user_id=user_id)
    if room is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    return room


async def _target(tx: Tx, session_id: uuid.UUID, ref: ParticipantRef) -> ParticipantRecord:
    target = None
    participant_id = ref if isinstance(ref, uuid.UUID) else _as_uuid(ref)
    if participant_id is not None:
        target = await seats.get_participant(
            tx, session_id=session_id, participant_id=participant_id
        )
    if target is None and isinstance(ref, str):
        target = await seats.get_by_user(tx, session_id=session_id, user_id=ref)
    if target is None:
        raise NotFound("No such participant in this session.", code="PARTICIPANT_NOT_FOUND")
    return target


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _media_remove(
    services: Services, session: SessionRecord, target: ParticipantRecord
) -> None:
    room = stored_room(session)
    if room is not None:
        await services.backend(session.provider).remove_participant(room, _media_who(target))


async def visible_session(
    services: Services, actor: Actor, session_id: uuid.UUID
) -> tuple[SessionRecord, ParticipantRecord | None]:
    async with services.db.reader() as conn:
        found = await seats.seat_of_user(conn, session_id=session_id, user_id=actor.user_id)
    session, me = found if found is not None else (None, None)
    return require_visible(actor, session, me), me
