"""A room as one node sees it: its own sockets, and a mirror of everyone's presence.

The mirror (who is in the room, hands, mic/camera/screen) is fed by the same bus messages
that reach the sockets, so every node holds the same picture without asking the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from liveclass.domain.locks import Locks
from liveclass.domain.roles import Action, Role, role_allows
from liveclass.domain.timer import Timer
from liveclass.realtime.connection import Connection, ConnectionState
from liveclass.realtime.protocol import encode
from liveclass.realtime.ratelimit import TokenBucket


@dataclass
class Peer:
    """What the others see of one participant."""

    participant_id: str
    name: str
    role: str
    instance: str = ""
    # The socket this presence belongs to. A client that already saw it in a welcome knows
    # a later ``peer_joined`` of the same socket is a repeat, not a reconnect.
    connection_id: str = ""
    hand: bool = False
    audio: bool = False
    video: bool = False
    screen: bool = False
    _encoded: tuple[tuple[object, ...], str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def as_message(self) -> dict[str, Any]:
        message = asdict(self)
        del message["_encoded"]
        return message

    def as_json(self) -> str:
        """The encoded peer, kept until it changes: every welcome lists every peer, and
        re-encoding a thousand of them per arrival cost time and heap."""
        state = (
            self.name,
            self.role,
            self.instance,
            self.connection_id,
            self.hand,
            self.audio,
            self.video,
            self.screen,
        )
        if self._encoded is None or self._encoded[0] != state:
            self._encoded = (state, encode(self.as_message()))
        return self._encoded[1]


@dataclass
class Room:
    session_id: uuid.UUID
    connections: dict[str, Connection] = field(default_factory=dict)
    peers: dict[str, Peer] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)  # participant id -> name
    # Hidden recorder peers publishers send to; never part of the roster.
    recorders: set[str] = field(default_factory=set)
    recording: bool = False
    # Teaching tools, as stored (loaded with the presence) and kept in step by ``mirror``.
    hands: dict[str, str] = field(default_factory=dict)  # participant id -> raised_at
    locks: Locks = field(default_factory=Locks)
    timer: Timer = field(default_factory=Timer)
    has_polls: bool = False  # else a welcome need not look for polls
    # Reactions are limited per person, whichever of their sockets sends them.
    reaction_buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def hand_queue(self) -> list[str]:
        """Raised hands, first raised first."""
        return sorted(self.hands, key=lambda pid: (self.hands[pid], pid))

    def sockets_of(self, participant_id: str) -> Iterator[Connection]:
        for conn in list(self.connections.values()):
            if str(conn.participant_id) == participant_id:
                yield conn

    def audience(
        self, *, to: str | None, exclude: str | None, moderators_only: bool
    ) -> Iterator[Connection]:
        for conn in self.connections.values():
            if conn.state is not ConnectionState.JOINED:
                continue
            pid = str(conn.participant_id)
            if (to is not None and pid != to) or pid == exclude:
                continue
            if moderators_only and not conn.may(Action.MODERATE):
                continue
            yield conn

    def mirror(self, payload: dict[str, Any]) -> None:
        """Keep the presence picture in step with a message that is being delivered."""
        kind = payload.get("type")
        pid = str(payload.get("participant_id", ""))
        peer = self.peers.get(pid)
        if kind == "peer_joined":
            info = payload["peer"]
            self.peers[info["participant_id"]] = Peer(**info)
            self.waiting.pop(info["participant_id"], None)
        elif kind == "peer_left":
            self.peers.pop(pid, None)
        elif kind == "waiting":
            self.waiting[pid] = str(payload.get("name", ""))
        elif kind == "waiting_left":
            self.waiting.pop(pid, None)
        elif kind == "recorder_joined":
            self.recorders.add(pid)
        elif kind == "recorder_left":
            self.recorders.discard(pid)
        elif kind == "recording_state":
            self.recording = bool(payload["recording"])
        elif kind == "hand":
            self._mirror_hand(pid, peer, payload)
        elif kind == "hands_cleared":
            self.hands.clear()
            for each in self.peers.values():
                each.hand = False
        elif kind == "locks":
            self.locks = Locks.of(payload["locks"])
        elif kind == "timer":
            self.timer = Timer.of(payload)
        elif peer is not None and kind == "media_state":
            peer.audio, peer.video = bool(payload["audio"]), bool(payload["video"])
            peer.screen = bool(payload["screen"])
        elif peer is not None and kind == "role_changed":
            peer.role = str(payload["role"])
            if not role_allows(Role(peer.role), Action.PUBLISH):
                peer.audio = peer.video = peer.screen = False

    def _mirror_hand(self, pid: str, peer: Peer | None, payload: dict[str, Any]) -> None:
        raised = bool(payload["raised"])
        if raised:
            self.hands[pid] = str(payload.get("raised_at") or "")
        else:
            self.hands.pop(pid, None)
        if peer is not None:
            peer.hand = raised
