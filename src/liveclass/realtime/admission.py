"""Admission: a socket's token is checked, it becomes a connection of one kind, and it is
greeted (``welcome``) in the room or in the waiting room.

What a socket is (a participant, or the recorder as a system connection) is decided here,
once, from its token; the rest of the hub asks the connection, not the token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from liveclass.auth.issued import AccessClaims
from liveclass.db.seats import get_participant
from liveclass.db.sessions import SessionRecord, get_session
from liveclass.domain.errors import DomainError, Unauthorized
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.poll_views import Viewer
from liveclass.domain.roles import Action, Permissions, Role
from liveclass.realtime.connection import Connection, ConnectionState, Kind
from liveclass.realtime.errors import CloseError
from liveclass.realtime.fanout import Fanout
from liveclass.realtime.node_messages import Admit, Replace
from liveclass.realtime.presence import Presence
from liveclass.realtime.protocol import CloseCode, encode
from liveclass.realtime.ratelimit import TokenBucket
from liveclass.realtime.room import Room
from liveclass.realtime.use_cases import ClassroomUseCases

if TYPE_CHECKING:
    from liveclass.services import Services

# Signaling comes in bursts (an offer plus a trickle of candidates per peer); dropping one
# breaks a call, so it gets a wider bucket than chat and hands.
SIGNALING_HEADROOM = 10

# Domain refusals (by HTTP-ish status) as close codes: 401 retry with a fresh token,
# 403 removed, 409 the session is over.
_CLOSE_CODE_FOR = {401: CloseCode.UNAUTHORIZED, 403: CloseCode.FORBIDDEN, 409: CloseCode.ENDED}


def _no_session() -> CloseError:
    return CloseError(CloseCode.NOT_FOUND, "SESSION_NOT_FOUND", "No such session.")


@dataclass(frozen=True, slots=True)
class Entrant:
    """Who a checked token lets in, and how."""

    session: SessionRecord
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    kind: Kind
    state: ConnectionState


class Admission:
    def __init__(
        self,
        services: Services,
        use_cases: ClassroomUseCases,
        fanout: Fanout,
        presence: Presence,
    ) -> None:
        self.services = services
        self.use_cases = use_cases
        self.fanout = fanout
        self.presence = presence

    async def connect(self, token: str, session_id: uuid.UUID, instance: str) -> Connection:
        """Check the token against the database and put the socket in its room."""
        entrant = await self._entrant(self._claims(token, session_id))
        conn = self._connection(entrant, instance[:64])
        room = await self.presence.room(session_id)
        room.connections[conn.id] = conn
        if conn.kind.listed:
            await self.fanout.publish(session_id, Replace(conn.participant_id, conn.id))
        if conn.state is ConnectionState.JOINED:
            await self.enter(conn, entrant.session)
            return conn
        conn.push_first(self._welcome(conn, entrant.session, room))
        await self.fanout.deliver(
            session_id,
            {"type": "waiting", "participant_id": str(conn.participant_id), "name": conn.name},
            moderators_only=True,
        )
        return conn

    def _claims(self, token: str, session_id: uuid.UUID) -> AccessClaims:
        try:
            claims = self.services.issuer.verify_access(token)
        except Unauthorized as exc:
            raise CloseError(CloseCode.UNAUTHORIZED, exc.code, exc.detail) from exc
        if claims.session_id != session_id:
            raise CloseError(
                CloseCode.UNAUTHORIZED, "TOKEN_WRONG_SESSION", "The token is for another session."
            )
        return claims

    async def _entrant(self, claims: AccessClaims) -> Entrant:
        if claims.hidden:
            return await self._recorder(claims)
        return await self._participant(claims)

    async def _participant(self, claims: AccessClaims) -> Entrant:
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, session_id=claims.session_id)
            row = await get_participant(
                tx, session_id=claims.session_id, participant_id=claims.participant_id
            )
        if session is None:
            raise _no_session()
        try:
            # The same rule as the token refresh endpoint, so both refuse the same people.
            self.use_cases.check_access(session, row, claims)
        except DomainError as exc:
            raise CloseError(
                _CLOSE_CODE_FOR.get(exc.status, CloseCode.FORBIDDEN), exc.code, exc.detail
            ) from exc
        assert row is not None
        waiting = row.status == ParticipantStatus.WAITING
        return Entrant(
            session=session,
            participant_id=row.id,
            user_id=row.user_id,
            name=row.name,
            role=Role(row.role),
            kind=Kind.PARTICIPANT,
            state=ConnectionState.WAITING if waiting else ConnectionState.JOINED,
        )

    async def _recorder(self, claims: AccessClaims) -> Entrant:
        """The recorder has no participant row: its token is its identity, and it may only
        come into a live class. Publishers learn of it from ``recorder_joined`` (and from
        ``welcome.recorders``) and send it their media."""
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, session_id=claims.session_id)
        if session is None:
            raise _no_session()
        if session.status != SessionStatus.LIVE:
            raise CloseError(CloseCode.ENDED, "SESSION_NOT_LIVE", "Only a live class records.")
        return Entrant(
            session=session,
            participant_id=claims.participant_id,
            user_id=claims.user_id,
            name=claims.name,
            role=Role.VIEWER,
            kind=Kind.RECORDER,
            state=ConnectionState.JOINED,
        )

    def _connection(self, entrant: Entrant, instance: str) -> Connection:
        """A socket of this node, with its id and its rate limits from the settings."""
        settings = self.services.settings
        rate, burst = settings.ws_messages_per_second, settings.ws_burst
        return Connection(
            id=self.presence.node_prefix + uuid.uuid4().hex,
            session_id=entrant.session.id,
            participant_id=entrant.participant_id,
            user_id=entrant.user_id,
            name=entrant.name,
            role=entrant.role,
            instance=instance,
            state=entrant.state,
            kind=entrant.kind,
            chat_bucket=TokenBucket(rate=rate, burst=burst),
            signal_bucket=TokenBucket(
                rate=rate * SIGNALING_HEADROOM, burst=burst * SIGNALING_HEADROOM
            ),
        )

    async def enter(self, conn: Connection, session: SessionRecord, *, first: bool = True) -> None:
        """Count the socket in, greet it with the roster, announce it to the room."""
        room = self.presence.rooms[conn.session_id]
        announcement = await self.presence.arrive(conn, room)
        polls = await self._welcome_polls(conn, room)
        welcome = self._welcome(conn, session, room, polls)
        # Messages may already be queued for a new socket; the welcome must come first.
        if first:
            conn.push_first(welcome)
        else:
            conn.push(welcome)
        await self.fanout.deliver(conn.session_id, announcement, exclude=str(conn.participant_id))

    async def on_admit(self, room: Room, message: Admit) -> None:
        """The host let the participant in: its waiting sockets enter the room."""
        pid = str(message.participant_id)
        waiting = [c for c in room.sockets_of(pid) if c.state is ConnectionState.WAITING]
        if not waiting:
            return
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, session_id=room.session_id)
        if session is None:
            return
        for conn in waiting:
            conn.push(encode({"type": "admitted"}))
            await self.enter(conn, session, first=False)

    @staticmethod
    def on_replace(room: Room, message: Replace) -> None:
        """The participant connected again: their other sockets close, without ``peer_left``."""
        for conn in room.sockets_of(str(message.participant_id)):
            if conn.id != message.connection_id:
                conn.replaced = True
                conn.close(CloseCode.REPLACED, "REPLACED: you connected again elsewhere.")

    async def _welcome_polls(self, conn: Connection, room: Room) -> list[dict[str, Any]]:
        """The polls a joined socket is shown, each with its own answer."""
        if not room.has_polls or not conn.sees_polls:
            return []
        viewer = Viewer(conn.may(Action.RUN_POLLS), conn.participant_id)
        return await self.use_cases.welcome_polls(conn.session_id, viewer)

    def _welcome(
        self,
        conn: Connection,
        session: SessionRecord,
        room: Room,
        polls: list[dict[str, Any]] | None = None,
    ) -> str:
        settings = self.services.settings
        me = str(conn.participant_id)
        # Someone in the waiting room is not in the class yet: they see nobody.
        inside = conn.state is ConnectionState.JOINED
        peers = [p for pid, p in room.peers.items() if pid != me and inside]
        waiting = (
            [{"participant_id": k, "name": v} for k, v in room.waiting.items()]
            if inside and conn.may(Action.MODERATE)
            else []
        )
        welcome = {
            "type": "welcome",
            "connection_id": conn.id,
            "session": {"id": str(session.id), "title": session.title, "status": session.status},
            "you": {
                "participant_id": me,
                "user_id": conn.user_id,
                "name": conn.name,
                "role": conn.role.value,
                "status": conn.state.value,
                "permissions": Permissions.for_role(conn.role).as_dict(),
            },
            "peers": [],
            "waiting": waiting,
            "recorders": sorted(r for r in room.recorders if r != me),
            "recording": room.recording,
            "polls": polls or [],
            "hands": room.hand_queue() if inside else [],
            "locks": room.locks.as_dict(),
            "timer": room.timer.as_message(datetime.now(UTC)),
            "limits": {
                "max_message_bytes": settings.ws_max_message_bytes,
                "messages_per_second": settings.ws_messages_per_second,
                "burst": settings.ws_burst,
            },
        }
        # Peers are spliced in already encoded (see Peer.as_json). User text inside the
        # rest is escaped by the encoder, so the empty list is the only '"peers":[]'.
        roster = '"peers":[' + ",".join(p.as_json() for p in peers) + "]"
        return encode(welcome).replace('"peers":[]', roster, 1)
