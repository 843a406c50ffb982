"""One participant's socket as the hub sees it: who it is, and an outbox the socket drains."""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections import deque
from dataclasses import dataclass, field

from liveclass.domain.roles import Action, Role, role_allows
from liveclass.realtime.protocol import CloseCode
from liveclass.realtime.ratelimit import TokenBucket

# A reader this far behind is not reading: drop it rather than grow memory without bound.
MAX_QUEUED = 2000


class ConnectionState(enum.StrEnum):
    WAITING = "waiting"  # in the waiting room: hears only about its own admission
    JOINED = "joined"  # in the room: counted in attendance, sees and is seen
    CLOSED = "closed"


class Kind(enum.StrEnum):
    """What a socket is, decided once at admission; every later step asks the connection
    (``listed``, ``may``) rather than whether it is the recorder."""

    PARTICIPANT = "participant"
    # A system connection (Galène's recording client): it receives the publishers' media
    # but is nobody in the class, so no roster, attendance, hands, polls or teaching tools.
    RECORDER = "recorder"

    @property
    def listed(self) -> bool:
        """In the roster and in attendance: arrives with ``peer_joined``, leaves with
        ``peer_left``, has one socket at a time. Otherwise it is announced to the
        publishers only as ``recorder_joined``/``recorder_left``."""
        return self is Kind.PARTICIPANT

    @property
    def withheld(self) -> frozenset[Action]:
        """What this kind may not do, whatever its role allows."""
        return _WITHHELD[self]


# The recorder connects with a viewer's role (the welcome shows it a viewer's permissions)
# but takes no part in teaching.
_WITHHELD = {
    Kind.PARTICIPANT: frozenset[Action](),
    Kind.RECORDER: frozenset(
        {
            Action.RUN_POLLS,
            Action.ANSWER_POLL,
            Action.REACT,
            Action.PRIVATE_CHAT,
            Action.SET_LOCKS,
            Action.RUN_TIMER,
            Action.MODERATE,
        }
    ),
}


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
    # Announced to the room (and, if ``kind.listed``, counted in attendance).
    entered: bool = False
    kind: Kind = Kind.PARTICIPANT
    _queue: deque[str | Close] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def may(self, action: Action) -> bool:
        """Its current role allows it, and its kind does not withhold it."""
        return action not in self.kind.withheld and role_allows(self.role, action)

    @property
    def sees_polls(self) -> bool:
        """Polls are shown to whoever may answer or run them."""
        return self.may(Action.ANSWER_POLL) or self.may(Action.RUN_POLLS)

    @property
    def title(self) -> str:
        """What a refusal calls the sender: its role, or its system kind."""
        return self.role.value if self.kind.listed else self.kind.value

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
