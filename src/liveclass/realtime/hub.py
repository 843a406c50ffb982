"""The hub: admits sockets into rooms, keeps attendance, and applies room events from the bus.

It is also the node's ``RoomEvents``: the REST API tells it about committed changes (a kick,
an end) and it publishes them on the bus so every node acts on its own sockets.
"""

from __future__ import annotations

import gc
import logging
import socket
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from liveclass.auth.issued import AccessClaims
from liveclass.control import polls as poll_control
from liveclass.control.participants import check_access
from liveclass.db import attendance, classroom
from liveclass.db import polls as poll_queries
from liveclass.db.database import Transaction
from liveclass.db.participants import get_participant
from liveclass.db.recordings import active_recording
from liveclass.db.sessions import get_session
from liveclass.db.tables import LiveSessionRow, ParticipantRow
from liveclass.domain.errors import DomainError, Unauthorized
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.locks import Locks
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Action, Permissions, Role, role_allows
from liveclass.domain.timer import Timer
from liveclass.realtime.bus import Bus, BusMessage
from liveclass.realtime.connection import Connection, ConnectionState
from liveclass.realtime.errors import CloseError
from liveclass.realtime.protocol import CloseCode, encode
from liveclass.realtime.ratelimit import TokenBucket
from liveclass.realtime.room import Peer, Room

if TYPE_CHECKING:
    from liveclass.services import Services

log = logging.getLogger(__name__)

# Signaling comes in bursts (an offer plus a trickle of candidates per peer); dropping one
# breaks a call, so it gets a wider bucket than chat and hands.
SIGNALING_HEADROOM = 10

# Domain refusals (by HTTP-ish status) as close codes: 401 retry with a fresh token,
# 403 removed, 409 the session is over.
_CLOSE_CODE_FOR = {401: CloseCode.UNAUTHORIZED, 403: CloseCode.FORBIDDEN, 409: CloseCode.ENDED}


def default_node_id(port: int) -> str:
    """Stable across restarts of the same node, so it can close what it left open."""
    return f"{socket.gethostname()}:{port}"


class Hub:
    def __init__(self, services: Services, bus: Bus, *, node_id: str) -> None:
        self.services = services
        self.bus = bus
        self.node_prefix = node_id + "/"
        self.rooms: dict[uuid.UUID, Room] = {}

    # -- lifecycle of the node ---------------------------------------------------------

    async def start(self) -> None:
        await self.bus.start(self._on_bus)
        await self._close_orphans()
        # Everything loaded so far (modules, the app) lives as long as the process. Hiding
        # it from the cyclic collector keeps full collections short: with a thousand sockets
        # they took 70-220 ms each and showed up as fan-out latency spikes.
        gc.freeze()

    async def stop(self) -> None:
        for room in list(self.rooms.values()):
            for conn in list(room.connections.values()):
                conn.close(1012, "RESTARTING: the server is restarting; reconnect.")
        await self._close_orphans()
        await self.bus.close()

    async def _close_orphans(self) -> None:
        alive = {c for room in self.rooms.values() for c in room.connections}
        async with self.services.db.transaction() as tx:
            await attendance.close_orphans(
                tx, connection_ids_alive=alive, node_prefix=self.node_prefix
            )

    # -- sockets -----------------------------------------------------------------------

    async def connect(self, token: str, session_id: uuid.UUID, instance: str) -> Connection:
        """Check the token against the database and put the socket in its room."""
        claims = self._claims(token, session_id)
        if claims.hidden:
            return await self._connect_recorder(claims, instance[:64])
        session, row = await self._admissible(claims, session_id)
        conn = self._new_connection(row, instance[:64])
        room = await self._room(session_id)
        room.connections[conn.id] = conn
        await self._publish(
            session_id,
            {
                "op": "replace",
                "participant_id": str(row.id),
                "connection_id": conn.id,
            },
        )
        if conn.state is ConnectionState.JOINED:
            await self.enter(conn, session)
        else:
            conn.push_first(self._welcome(conn, session, room))
            await self._deliver(
                session_id,
                {
                    "type": "waiting",
                    "participant_id": str(row.id),
                    "name": row.name,
                },
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

    async def _admissible(
        self, claims: AccessClaims, session_id: uuid.UUID
    ) -> tuple[LiveSessionRow, ParticipantRow]:
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, session_id)
            row = await get_participant(tx, session_id, claims.participant_id)
        if session is None:
            raise CloseError(CloseCode.NOT_FOUND, "SESSION_NOT_FOUND", "No such session.")
        try:
            # The same rule as the token refresh endpoint, so both refuse the same people.
            check_access(session, row, claims)
        except DomainError as exc:
            raise CloseError(
                _CLOSE_CODE_FOR.get(exc.status, CloseCode.FORBIDDEN), exc.code, exc.detail
            ) from exc
        assert row is not None
        return session, row

    async def _connect_recorder(self, claims: AccessClaims, instance: str) -> Connection:
        """The hidden recorder: publishers learn of it from ``recorder_joined`` (and from
        ``welcome.recorders``) and send it their media; nobody sees it in the roster."""
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, claims.session_id)
        if session is None:
            raise CloseError(CloseCode.NOT_FOUND, "SESSION_NOT_FOUND", "No such session.")
        if session.status != SessionStatus.LIVE:
            raise CloseError(CloseCode.ENDED, "SESSION_NOT_LIVE", "Only a live class records.")
        conn = self._connection(
            session_id=claims.session_id,
            participant_id=claims.participant_id,
            user_id=claims.user_id,
            name=claims.name,
            role=Role.VIEWER,
            instance=instance,
            state=ConnectionState.JOINED,
            hidden=True,
        )
        room = await self._room(claims.session_id)
        room.connections[conn.id] = conn
        conn.push_first(self._welcome(conn, session, room))
        pid = str(conn.participant_id)
        await self._deliver(
            conn.session_id, {"type": "recorder_joined", "participant_id": pid}, exclude=pid
        )
        return conn

    def _new_connection(self, row: ParticipantRow, instance: str) -> Connection:
        waiting = row.status == ParticipantStatus.WAITING
        return self._connection(
            session_id=row.session_id,
            participant_id=row.id,
            user_id=row.user_id,
            name=row.name,
            role=Role(row.role),
            instance=instance,
            state=ConnectionState.WAITING if waiting else ConnectionState.JOINED,
        )

    def _connection(
        self,
        *,
        session_id: uuid.UUID,
        participant_id: uuid.UUID,
        user_id: str,
        name: str,
        role: Role,
        instance: str,
        state: ConnectionState,
        hidden: bool = False,
    ) -> Connection:
        """A socket of this node, with its id and its rate limits from the settings."""
        settings = self.services.settings
        rate, burst = settings.ws_messages_per_second, settings.ws_burst
        return Connection(
            id=self.node_prefix + uuid.uuid4().hex,
            session_id=session_id,
            participant_id=participant_id,
            user_id=user_id,
            name=name,
            role=role,
            instance=instance,
            state=state,
            hidden=hidden,
            chat_bucket=TokenBucket(rate=rate, burst=burst),
            signal_bucket=TokenBucket(
                rate=rate * SIGNALING_HEADROOM, burst=burst * SIGNALING_HEADROOM
            ),
        )

    async def enter(self, conn: Connection, session: LiveSessionRow, *, first: bool = True) -> None:
        """Count the socket in attendance, greet it with the roster, announce it to the room."""
        async with self.services.db.transaction() as tx:
            await attendance.open_interval(
                tx,
                session_id=conn.session_id,
                participant_id=conn.participant_id,
                connection_id=conn.id,
            )
        conn.state = ConnectionState.JOINED
        conn.entered = True
        room = self.rooms[conn.session_id]
        peer = Peer(
            participant_id=str(conn.participant_id),
            name=conn.name,
            role=conn.role.value,
            instance=conn.instance,
            connection_id=conn.id,
            hand=str(conn.participant_id) in room.hands,
        )
        room.peers[peer.participant_id] = peer
        polls = await self._welcome_polls(conn, room)
        welcome = self._welcome(conn, session, room, polls)
        # Messages may already be queued for a new socket; the welcome must come first.
        if first:
            conn.push_first(welcome)
        else:
            conn.push(welcome)
        await self._deliver(
            conn.session_id,
            {"type": "peer_joined", "peer": peer.as_message()},
            exclude=peer.participant_id,
        )

    async def _welcome_polls(self, conn: Connection, room: Room) -> list[dict[str, Any]]:
        """The polls a joined socket is shown, each with its own answer."""
        if not room.has_polls or conn.hidden:
            return []
        moderator = role_allows(conn.role, Action.RUN_POLLS)
        async with self.services.db.transaction() as tx:
            states = await poll_control.welcome_states(tx, conn.session_id, moderator=moderator)
        viewer = poll_control.Viewer(moderator, conn.participant_id)
        return [poll_control.for_audience(self.services, state, viewer) for state in states]

    def _welcome(
        self,
        conn: Connection,
        session: LiveSessionRow,
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
            if inside and role_allows(conn.role, Action.MODERATE)
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

    async def disconnect(self, conn: Connection) -> None:
        """The socket is gone: close its attendance interval and tell the room."""
        was_waiting = conn.state is ConnectionState.WAITING
        conn.state = ConnectionState.CLOSED
        room = self.rooms.get(conn.session_id)
        if room is None or room.connections.pop(conn.id, None) is None:
            return
        pid = str(conn.participant_id)
        if conn.entered:
            async with self.services.db.transaction() as tx:
                await attendance.close_interval(tx, connection_id=conn.id)
        if not conn.replaced and conn.entered:
            await self._deliver(conn.session_id, {"type": "peer_left", "participant_id": pid})
        elif not conn.replaced and conn.hidden:
            await self._deliver(conn.session_id, {"type": "recorder_left", "participant_id": pid})
        elif not conn.replaced and was_waiting:
            await self._deliver(
                conn.session_id,
                {"type": "waiting_left", "participant_id": pid},
                moderators_only=True,
            )
        if not room.connections and self.rooms.get(conn.session_id) is room:
            del self.rooms[conn.session_id]
            await self.bus.unsubscribe(_channel(conn.session_id))

    async def _room(self, session_id: uuid.UUID) -> Room:
        room = self.rooms.get(session_id)
        if room is not None:
            return room
        room = self.rooms[session_id] = Room(session_id)
        await self.bus.subscribe(_channel(session_id))
        await self._load_presence(room)
        return room

    async def _load_presence(self, room: Room) -> None:
        # Other nodes may already hold sockets of this room: attendance says who is connected.
        async with self.services.db.transaction() as tx:
            sockets = await attendance.open_connections(tx, session_id=room.session_id)
            rows = [await get_participant(tx, room.session_id, pid) for pid in sockets]
            room.recording = await active_recording(tx, room.session_id) is not None
            await self._load_teaching(tx, room)
        for row in rows:
            if row is not None and str(row.id) not in room.peers:
                room.peers[str(row.id)] = Peer(
                    str(row.id),
                    row.name,
                    row.role,
                    connection_id=sockets[row.id],
                    hand=str(row.id) in room.hands,
                )

    async def _load_teaching(self, tx: Transaction, room: Room) -> None:
        """The room's stored hands, locks, timer, and whether it has polls at all."""
        state = await classroom.get_state(tx, session_id=room.session_id)
        room.locks, room.timer = Locks.of(state.locks), Timer.of(state.timer)
        queue = await classroom.hand_queue(tx, session_id=room.session_id)
        room.hands = {str(pid): at.isoformat() for pid, at in queue}
        room.has_polls = await poll_queries.has_polls(tx, session_id=room.session_id)

    # -- publishing ----------------------------------------------------------------------

    async def _publish(self, session_id: uuid.UUID, message: BusMessage) -> None:
        await self.bus.publish(_channel(session_id), message)

    async def _deliver(
        self,
        session_id: uuid.UUID,
        payload: dict[str, Any],
        *,
        to: str | None = None,
        exclude: str | None = None,
        moderators_only: bool = False,
    ) -> None:
        await self._publish(
            session_id,
            {
                "op": "deliver",
                "payload": payload,
                "to": to,
                "exclude": exclude,
                "moderators_only": moderators_only,
            },
        )

    async def deliver(
        self,
        conn: Connection,
        payload: dict[str, Any],
        *,
        to: str | None = None,
        exclude_self: bool = False,
        moderators_only: bool = False,
    ) -> None:
        """Send a message from ``conn`` to its room (or to one peer)."""
        exclude = str(conn.participant_id) if exclude_self else None
        await self._deliver(
            conn.session_id, payload, to=to, exclude=exclude, moderators_only=moderators_only
        )

    # -- what arrives on the bus -----------------------------------------------------------

    async def _on_bus(self, channel: str, message: BusMessage) -> None:
        session_id = uuid.UUID(channel.removeprefix("room:"))
        room = self.rooms.get(session_id)
        if room is None:
            return
        op = message.get("op")
        pid = str(message.get("participant_id", ""))
        if op == "deliver":
            self._on_deliver(room, message)
        elif op == "replace":
            for conn in room.sockets_of(pid):
                if conn.id != message["connection_id"]:
                    conn.replaced = True
                    conn.close(CloseCode.REPLACED, "REPLACED: you connected again elsewhere.")
        elif op == "remove":
            reason = str(message.get("reason", "removed")).upper()
            for conn in room.sockets_of(pid):
                conn.close(CloseCode.FORBIDDEN, f"{reason}: you were removed from the session.")
        elif op == "end":
            self._on_end(room, str(message.get("reason", "ended")))
        elif op == "role":
            await self._on_role(room, pid, Role(message["role"]))
        elif op == "admit":
            await self._on_admit(room, pid)
        elif op == "poll":
            self._on_poll(room, message)

    def _on_deliver(self, room: Room, message: BusMessage) -> None:
        payload = message["payload"]
        room.mirror(payload)
        text = encode(payload)
        for conn in room.audience(
            to=message.get("to"),
            exclude=message.get("exclude"),
            moderators_only=bool(message.get("moderators_only")),
        ):
            conn.push(text)

    def _on_poll(self, room: Room, message: BusMessage) -> None:
        """Each socket gets the poll as its role may see it, with its own answer; a draft
        and the live counts after an answer go to moderators (and the one who answered)."""
        room.has_polls = True
        state = message["state"]
        everyone = bool(message.get("everyone")) and state["poll"]["status"] != "draft"
        answered = (state.get("answered") or {}).get("participant_id")
        rendering = poll_control.Rendering(self.services, state)
        # most recipients see the same thing (a student who has not answered): encode it once
        texts: dict[tuple[bool, str], str] = {}
        for conn in room.audience(to=None, exclude=None, moderators_only=False):
            moderator = role_allows(conn.role, Action.RUN_POLLS)
            if conn.hidden or not (everyone or moderator or str(conn.participant_id) == answered):
                continue
            you = rendering.you(conn.participant_id)
            key = (moderator, str(you))
            text = texts.get(key)
            if text is None:
                poll = rendering.view(moderator=moderator)
                text = texts[key] = encode({"type": "poll", "poll": poll, "you": you})
            conn.push(text)

    def _on_end(self, room: Room, reason: str) -> None:
        text = encode({"type": "session_ended", "reason": reason})
        for conn in list(room.connections.values()):
            conn.push(text)
            conn.close(CloseCode.ENDED, f"SESSION_ENDED: {reason}")

    async def _on_role(self, room: Room, pid: str, role: Role) -> None:
        payload: dict[str, Any] = {
            "type": "role_changed",
            "participant_id": pid,
            "role": role.value,
            "permissions": Permissions.for_role(role).as_dict(),
        }
        room.mirror(payload)
        others = encode(payload)
        mine = list(room.sockets_of(pid))
        for conn in room.audience(to=None, exclude=pid, moderators_only=False):
            conn.push(others)
        if mine:
            # The role change bumped the token version: hand the socket a token that still works.
            payload.update(await self._fresh_token(mine[0], role))
        for conn in mine:
            conn.role = role
            conn.push(encode(payload))

    async def _fresh_token(self, conn: Connection, role: Role) -> dict[str, Any]:
        async with self.services.db.transaction() as tx:
            row = await get_participant(tx, conn.session_id, conn.participant_id)
        if row is None:
            return {}
        token, expires = self.services.issuer.access_token(
            session_id=conn.session_id,
            participant_id=conn.participant_id,
            user_id=conn.user_id,
            name=conn.name,
            role=role,
            token_version=row.token_version,
        )
        return {"access_token": token, "expires_at": datetime.fromtimestamp(expires, UTC)}

    async def _on_admit(self, room: Room, pid: str) -> None:
        waiting = [c for c in room.sockets_of(pid) if c.state is ConnectionState.WAITING]
        if not waiting:
            return
        async with self.services.db.transaction() as tx:
            session = await get_session(tx, room.session_id)
        if session is None:
            return
        for conn in waiting:
            conn.push(encode({"type": "admitted"}))
            await self.enter(conn, session, first=False)

    # -- RoomEvents: called by the REST API after it committed a change ---------------------

    async def session_started(self, session_id: uuid.UUID) -> None:
        await self._deliver(session_id, {"type": "session_started"})

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        await self._publish(session_id, {"op": "end", "reason": reason})

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        await self._publish(
            session_id,
            {
                "op": "remove",
                "participant_id": str(participant_id),
                "reason": reason,
            },
        )
        await self._leave_hand_queue(session_id, participant_id)

    async def _leave_hand_queue(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        """Someone who left or was removed has no hand up any more."""
        async with self.services.db.transaction() as tx:
            queue = await classroom.hand_queue(tx, session_id=session_id)
            if all(pid != participant_id for pid, _ in queue):
                return
            await classroom.lower_hand(tx, session_id=session_id, participant_id=participant_id)
        payload = {
            "type": "hand",
            "participant_id": str(participant_id),
            "raised": False,
            "raised_at": None,
            "queue": [str(pid) for pid, _ in queue if pid != participant_id],
        }
        await self._deliver(session_id, payload)

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        await self._publish(
            session_id,
            {
                "op": "role",
                "participant_id": str(participant_id),
                "role": role.value,
            },
        )

    async def participant_admitted(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        await self._publish(session_id, {"op": "admit", "participant_id": str(participant_id)})

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        on = state in ("starting", "recording")
        await self._deliver(
            session_id,
            {
                "type": "recording_state",
                "recording": on,
                "state": state,
                "recording_id": str(recording_id),
            },
        )

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        await self._publish(session_id, {"op": "poll", "state": state, "everyone": everyone})


def _channel(session_id: uuid.UUID) -> str:
    return f"room:{session_id}"
