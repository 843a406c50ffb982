"""Presence: who is in each room, across nodes, and the attendance that counts them.

A node learns who is in a room from attendance when its first socket of the room arrives,
then follows arrivals and departures from the bus (``Room.mirror``). Attendance intervals
belong to this node: it closes them when a socket leaves, when it stops, and (as of its last
beat) when it starts again after a crash. A node another node found dead is announced with
``NodeGone`` so every node says ``peer_left`` for the sockets it held.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from liveclass.db import attendance, classroom, nodes, recordings
from liveclass.db import polls as poll_queries
from liveclass.db.database import Tx
from liveclass.db.seats import get_participant
from liveclass.db.types import utcnow
from liveclass.domain.locks import Locks
from liveclass.domain.timer import Timer
from liveclass.realtime.connection import Connection, ConnectionState
from liveclass.realtime.fanout import Fanout
from liveclass.realtime.node_messages import Deliver, NodeGone
from liveclass.realtime.protocol import CloseCode
from liveclass.realtime.room import Peer, Room

if TYPE_CHECKING:
    from liveclass.services import Services

log = logging.getLogger(__name__)


class Presence:
    def __init__(
        self, services: Services, fanout: Fanout, rooms: dict[uuid.UUID, Room], *, node_id: str
    ) -> None:
        self.services = services
        self.fanout = fanout
        self.rooms = rooms
        self.node_id = node_id
        self.node_prefix = node_id + "/"

    # -- rooms -------------------------------------------------------------------------

    async def room(self, session_id: uuid.UUID) -> Room:
        """This node's room of the session, subscribed and loaded on its first socket."""
        room = self.rooms.get(session_id)
        if room is not None:
            return room
        room = self.rooms[session_id] = Room(session_id)
        await self.fanout.subscribe(session_id)
        await self._load(room)
        return room

    async def _load(self, room: Room) -> None:
        # Other nodes may already hold sockets of this room: attendance says who is connected.
        async with self.services.db.transaction() as tx:
            sockets = await attendance.open_connections(tx, session_id=room.session_id)
            rows = [
                await get_participant(tx, session_id=room.session_id, participant_id=pid)
                for pid in sockets
            ]
            room.recording = await recordings.active(tx, session_id=room.session_id) is not None
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

    @staticmethod
    async def _load_teaching(tx: Tx, room: Room) -> None:
        """The room's stored hands, locks, timer, and whether it has polls at all."""
        state = await classroom.get_state(tx, session_id=room.session_id)
        room.locks, room.timer = Locks.of(state.locks), Timer.of(state.timer)
        queue = await classroom.hand_queue(tx, session_id=room.session_id)
        room.hands = {str(h.participant_id): h.raised_at.isoformat() for h in queue}
        room.has_polls = await poll_queries.has_polls(tx, session_id=room.session_id)

    # -- arrivals and departures ---------------------------------------------------------

    async def arrive(self, conn: Connection, room: Room) -> dict[str, Any]:
        """Count the socket in (if its kind is listed); the announcement for the others."""
        pid = str(conn.participant_id)
        conn.state = ConnectionState.JOINED
        if not conn.kind.listed:
            conn.entered = True
            return {"type": "recorder_joined", "participant_id": pid}
        async with self.services.db.transaction() as tx:
            await attendance.open_interval(
                tx,
                session_id=conn.session_id,
                participant_id=conn.participant_id,
                connection_id=conn.id,
                node_id=self.node_id,
            )
        conn.entered = True
        peer = Peer(
            participant_id=pid,
            name=conn.name,
            role=conn.role.value,
            instance=conn.instance,
            connection_id=conn.id,
            hand=pid in room.hands,
        )
        room.peers[pid] = peer
        return {"type": "peer_joined", "peer": peer.as_message()}

    async def leave(self, conn: Connection) -> None:
        """The socket is gone: close its attendance interval and tell the room."""
        was_waiting = conn.state is ConnectionState.WAITING
        conn.state = ConnectionState.CLOSED
        room = self.rooms.get(conn.session_id)
        if room is None or room.connections.pop(conn.id, None) is None:
            return
        if conn.entered and conn.kind.listed:
            async with self.services.db.transaction() as tx:
                await attendance.close_interval(tx, connection_id=conn.id)
        departure = _departure(conn, was_waiting)
        if departure is not None:
            await self.fanout.publish(conn.session_id, departure)
        if not room.connections and self.rooms.get(conn.session_id) is room:
            del self.rooms[conn.session_id]
            await self.fanout.unsubscribe(conn.session_id)

    # -- this node and the others --------------------------------------------------------

    async def resume(self) -> None:
        """Close what an earlier run of this node left open (a crash) as of its last beat,
        so the downtime counts as no attendance; then beat."""
        now = utcnow()
        async with self.services.db.transaction() as tx:
            alive_until = await nodes.last_alive(tx, node_id=self.node_id)
            # No beat on record: it was found dead (all closed already) or never beat.
            await attendance.close_node(tx, node_id=self.node_id, at=alive_until or now)
            await nodes.beat(tx, node_id=self.node_id, at=now)

    async def stop(self) -> None:
        self.close_all("RESTARTING: the server is restarting; reconnect.")
        # Every socket of this node is closing now: its attendance ends now, and nobody
        # needs to find the node dead later.
        async with self.services.db.transaction() as tx:
            await attendance.close_node(tx, node_id=self.node_id, at=utcnow())
            await nodes.forget(tx, node_id=self.node_id)

    async def beat(self) -> None:
        """Tell the other nodes this one is alive (``NODE_HEARTBEAT_SECONDS``)."""
        async with self.services.db.transaction() as tx:
            known = await nodes.beat(tx, node_id=self.node_id, at=utcnow())
        if not known:
            # Too late: another node found this one dead and closed its attendance. The
            # sockets reconnect and are counted again from now.
            log.warning("node %s was found dead by another node; reconnecting", self.node_id)
            self.close_all("RESTARTING: the server was unreachable; reconnect.")

    async def node_gone(self, node_id: str, session_ids: list[uuid.UUID]) -> None:
        """Another node found ``node_id`` dead: its sockets in these rooms are gone."""
        for session_id in session_ids:
            await self.fanout.publish(session_id, NodeGone(node_id))

    def on_node_gone(self, room: Room, message: NodeGone) -> None:
        """No ``peer_left`` came from a dead node: say it for each socket it held."""
        prefix = message.node_id + "/"
        if prefix == self.node_prefix:
            for conn in list(room.connections.values()):
                conn.close(CloseCode.RESTARTING, "RESTARTING: the server was unreachable.")
            return
        gone = [pid for pid, peer in room.peers.items() if peer.connection_id.startswith(prefix)]
        for pid in gone:
            self.fanout.deliver_here(room, Deliver({"type": "peer_left", "participant_id": pid}))

    def close_all(self, reason: str) -> None:
        for room in list(self.rooms.values()):
            for conn in list(room.connections.values()):
                conn.close(CloseCode.RESTARTING, reason)


def _departure(conn: Connection, was_waiting: bool) -> Deliver | None:
    """What the room hears of a socket that left; nothing of one replaced by a newer one."""
    pid = str(conn.participant_id)
    if conn.replaced:
        return None
    if conn.entered:
        kind = "peer_left" if conn.kind.listed else "recorder_left"
        return Deliver({"type": kind, "participant_id": pid})
    if was_waiting:
        return Deliver({"type": "waiting_left", "participant_id": pid}, moderators_only=True)
    return None
