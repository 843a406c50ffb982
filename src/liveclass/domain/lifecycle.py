"""Session lifecycle: ``scheduled -> live -> ended`` and ``scheduled -> cancelled``."""

from __future__ import annotations

import enum

from liveclass.domain.errors import InvalidState


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class EndReason(enum.StrEnum):
    ENDED_BY_HOST = "ended_by_host"
    EXPIRED = "expired"


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
