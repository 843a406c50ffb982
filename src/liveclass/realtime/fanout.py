"""Fan-out: room traffic goes out on the bus, and what comes back reaches this node's sockets.

Every room event is published, also on a single node, so one path serves one node and many:
each node subscribes to the channels of the rooms it holds sockets of and delivers to those
sockets itself. Messages are ``node_messages``; a bus message that is not one is logged and
dropped here, so the handlers only ever see typed messages.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from liveclass.realtime import node_messages
from liveclass.realtime.bus import Bus, BusMessage
from liveclass.realtime.node_messages import Deliver, NodeMessage, NodeMessageError
from liveclass.realtime.protocol import encode
from liveclass.realtime.room import Room

log = logging.getLogger(__name__)

# Called with the room of this node a message is for, and the message.
RoomHandler = Callable[[Room, NodeMessage], Awaitable[None]]


def channel(session_id: uuid.UUID) -> str:
    return f"room:{session_id}"


class Fanout:
    def __init__(self, bus: Bus, rooms: dict[uuid.UUID, Room]) -> None:
        self.bus = bus
        self.rooms = rooms
        self._handler: RoomHandler | None = None

    async def start(self, handler: RoomHandler) -> None:
        self._handler = handler
        await self.bus.start(self._on_bus)

    async def close(self) -> None:
        await self.bus.close()

    async def subscribe(self, session_id: uuid.UUID) -> None:
        await self.bus.subscribe(channel(session_id))

    async def unsubscribe(self, session_id: uuid.UUID) -> None:
        await self.bus.unsubscribe(channel(session_id))

    async def publish(self, session_id: uuid.UUID, message: NodeMessage) -> None:
        await self.bus.publish(channel(session_id), node_messages.encode(message))

    async def deliver(
        self,
        session_id: uuid.UUID,
        payload: dict[str, Any],
        *,
        to: str | None = None,
        exclude: str | None = None,
        moderators_only: bool = False,
    ) -> None:
        """Send a client message to the room, on every node."""
        await self.publish(session_id, Deliver(payload, to, exclude, moderators_only))

    @staticmethod
    def deliver_here(room: Room, message: Deliver) -> None:
        """Keep this node's picture of the room in step, then push to its audience."""
        room.mirror(message.payload)
        text = encode(message.payload)
        for conn in room.audience(
            to=message.to, exclude=message.exclude, moderators_only=message.moderators_only
        ):
            conn.push(text)

    async def _on_bus(self, name: str, raw: BusMessage) -> None:
        room = self._room_of(name)
        if room is None or self._handler is None:
            return  # no socket of that room here (any more)
        try:
            message = node_messages.parse(raw)
        except NodeMessageError as exc:
            log.warning("bus message on %s refused: %s", name, exc)
            return
        await self._handler(room, message)

    def _room_of(self, name: str) -> Room | None:
        try:
            session_id = uuid.UUID(name.removeprefix("room:"))
        except ValueError:
            log.warning("bus message on %s refused: not a room channel", name)
            return None
        return self.rooms.get(session_id)
