"""Session lifecycle: ``scheduled -> live -> ended`` and ``scheduled -> cancelled``."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol

from liveclass.domain.errors import InvalidState


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class EndReason(enum.StrEnum):
    ENDED_BY_HOST = "ended_by_host"
    EXPIRED = "expired"
    # a hosted provider reported the meeting over (everyone left its room)
    ENDED_ON_PROVIDER = "ended_on_provider"


_ALLOWED: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.SCHEDULED: frozenset({SessionStatus.LIVE, SessionStatus.CANCELLED}),
    SessionStatus.LIVE: frozenset({SessionStatus.ENDED}),
    SessionStatus.ENDED: frozenset(),
    SessionStatus.CANCELLED: frozenset(),
}


def can_transition(current: SessionStatus, target: SessionStatus) -> bool:
    return target in _ALLOWED[current]


def check_transition(current: SessionStatus, target: SessionStatus) -> None:
    """Raise ``InvalidState`` unless ``current -> target`` is a legal step."""
    if not can_transition(current, target):
        raise InvalidState(f"A {current.value} session cannot become {target.value}.")


def is_joinable(status: SessionStatus) -> bool:
    return status in (SessionStatus.SCHEDULED, SessionStatus.LIVE)


# -- what the session use cases announce -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionStarted:
    session_id: uuid.UUID
    is_recorded: bool


@dataclass(frozen=True, slots=True)
class SessionEnded:
    session_id: uuid.UUID
    reason: EndReason


class SessionListener(Protocol):
    """Told when a session became live and when it ended (not when a scheduled one is
    cancelled: nothing ran). ``session_ended`` is told before the media room closes, so a
    listener may still finish what the room holds (recordings)."""

    async def session_started(self, event: SessionStarted) -> None: ...

    async def session_ended(self, event: SessionEnded) -> None: ...
