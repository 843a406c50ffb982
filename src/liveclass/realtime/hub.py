"""The hub: one node's realtime layer, composed of its four jobs.

* ``admission``: a socket's token is checked and it is greeted in its room;
* ``presence``: who is in each room across nodes, attendance, this node and dead ones;
* ``fanout``: room traffic out on the bus and back to this node's sockets;
* ``room_events``: what the REST API tells the room after a commit (it is the node's
  ``RoomEvents``).

Bus messages (``node_messages``) arrive typed; ``_on_message`` hands each to the job it
belongs to.
"""

from __future__ import annotations

import gc
import socket
import uuid
from typing import TYPE_CHECKING, Any

from liveclass.domain.roles import Role
from liveclass.realtime.admission import Admission
from liveclass.realtime.bus import Bus
from liveclass.realtime.connection import Connection
from liveclass.realtime.fanout import Fanout
from liveclass.realtime.node_messages import (
    Admit,
    Deliver,
    End,
    NodeGone,
    NodeMessage,
    PollChanged,
    Remove,
    Replace,
    RoleChange,
)
from liveclass.realtime.presence import Presence
from liveclass.realtime.room import Room
from liveclass.realtime.room_events import BusRoomEvents
from liveclass.realtime.use_cases import ClassroomUseCases

if TYPE_CHECKING:
    from liveclass.services import Services


def default_node_id(port: int) -> str:
    """Stable across restarts of the same node, so it can close what it left open."""
    return f"{socket.gethostname()}:{port}"


class Hub:
    def __init__(
        self, services: Services, bus: Bus, *, node_id: str, use_cases: ClassroomUseCases
    ) -> None:
        self.services = services
        self.use_cases = use_cases
        self.node_id = node_id
        self.rooms: dict[uuid.UUID, Room] = {}
        self.fanout = Fanout(bus, self.rooms)
        self.presence = Presence(services, self.fanout, self.rooms, node_id=node_id)
        self.admission = Admission(services, use_cases, self.fanout, self.presence)
        self.events = BusRoomEvents(services, self.fanout)

    # -- lifecycle of the node ---------------------------------------------------------

    async def start(self) -> None:
        await self.fanout.start(self._on_message)
        await self.presence.resume()
        # Everything loaded so far (modules, the app) lives as long as the process. Hiding
        # it from the cyclic collector keeps full collections short: with a thousand sockets
        # they took 70-220 ms each and showed up as fan-out latency spikes.
        gc.freeze()

    async def stop(self) -> None:
        await self.presence.stop()
        await self.fanout.close()

    async def beat(self) -> None:
        await self.presence.beat()

    async def node_gone(self, node_id: str, session_ids: list[uuid.UUID]) -> None:
        await self.presence.node_gone(node_id, session_ids)

    # -- sockets -----------------------------------------------------------------------

    async def connect(self, token: str, session_id: uuid.UUID, instance: str) -> Connection:
        return await self.admission.connect(token, session_id, instance)

    async def disconnect(self, conn: Connection) -> None:
        await self.presence.leave(conn)

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
        await self.fanout.deliver(
            conn.session_id, payload, to=to, exclude=exclude, moderators_only=moderators_only
        )

    async def _on_message(self, room: Room, message: NodeMessage) -> None:
        match message:
            case Deliver():
                self.fanout.deliver_here(room, message)
            case Replace():
                self.admission.on_replace(room, message)
            case Admit():
                await self.admission.on_admit(room, message)
            case NodeGone():
                self.presence.on_node_gone(room, message)
            case Remove():
                self.events.on_remove(room, message)
            case End():
                self.events.on_end(room, message)
            case RoleChange():
                await self.events.on_role(room, message)
            case PollChanged():
                self.events.on_poll(room, message)

    # -- RoomEvents: called by the REST API after it committed a change ---------------------

    async def session_started(self, session_id: uuid.UUID) -> None:
        await self.events.session_started(session_id)

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        await self.events.session_ended(session_id, reason)

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        await self.events.participant_removed(session_id, participant_id, reason)

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        await self.events.role_changed(session_id, participant_id, role)

    async def participant_admitted(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        await self.events.participant_admitted(session_id, participant_id)

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        await self.events.recording_changed(session_id, recording_id, state)

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        await self.events.poll_changed(session_id, state, everyone=everyone)
