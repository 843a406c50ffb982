"""One participant's socket as the hub sees it: who it is, and an outbox the socket drains."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections import deque
from dataclasses import dataclass, field

from liveclass.domain.roles import Role
from liveclass.realtime.protocol import CloseCode
from liveclass.realtime.ratelimit import TokenBucket

# A reader this far behind is not reading: drop it rather than grow memory without bound.
MAX_QUEUED = 2000


class ConnectionState(enum.StrEnum):
    WAITING = "waiting"  # in the waiting room: hears only about its own admission
    JOINED = "joined"  # in the room: counted in attendance, sees and is seen
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


@dataclass(eq=False)
class Connection:
    id: str
    session_id: uuid.UUID
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    instance: str
    state: ConnectionState
    chat_bucket: TokenBucket
    signal_bucket: TokenBucket
    # Closed because the same participant connected again: no ``peer_left`` for it.
    replaced: bool = False
    # Counted in attendance (an interval is open) and announced to the room.
    entered: bool = False
    # The recorder: receives media but is no participant (no presence, no attendance).
    hidden: bool = False
    _queue: deque[str | Close] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, text: str) -> None:
        if self.state is ConnectionState.CLOSED:
            return
        if len(self._queue) >= MAX_QUEUED:
            self.close(CloseCode.POLICY, "SLOW_CONSUMER: the client does not read its messages.")
            return
        self._queue.append(text)
        self._ready.set()

    def push_first(self, text: str) -> None:
        """Queue ahead of everything else: the ``welcome`` must be the first message."""
        self._queue.appendleft(text)
        self._ready.set()

    def close(self, code: int, reason: str) -> None:
        if self.state is ConnectionState.CLOSED:
            return
        self.state = ConnectionState.CLOSED
        self._queue.append(Close(code, reason))
        self._ready.set()

    async def next_items(self) -> list[str | Close]:
        """Wait for, then take, everything queued (the socket writer's loop)."""
        await self._ready.wait()
        self._ready.clear()
        items = list(self._queue)
        self._queue.clear()
        return items
