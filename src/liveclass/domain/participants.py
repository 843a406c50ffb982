"""Participant states inside a session."""

from __future__ import annotations

import enum

from liveclass.domain.errors import InvalidState


class ParticipantStatus(enum.StrEnum):
    WAITING = "waiting"  # in the waiting room, not yet admitted
    JOINED = "joined"  # admitted; holds a seat
    LEFT = "left"
    KICKED = "kicked"
    DENIED = "denied"


_ALLOWED: dict[ParticipantStatus, frozenset[ParticipantStatus]] = {
    ParticipantStatus.WAITING: frozenset(
        {
            ParticipantStatus.JOINED,
            ParticipantStatus.DENIED,
            ParticipantStatus.LEFT,
            ParticipantStatus.KICKED,
        }
    ),
    ParticipantStatus.JOINED: frozenset({ParticipantStatus.LEFT, ParticipantStatus.KICKED}),
    # A host may ban someone who already left, so they cannot come back.
    ParticipantStatus.LEFT: frozenset(
        {ParticipantStatus.JOINED, ParticipantStatus.WAITING, ParticipantStatus.KICKED}
    ),
    ParticipantStatus.KICKED: frozenset(),
    ParticipantStatus.DENIED: frozenset(),
}


def check_participant_transition(current: ParticipantStatus, target: ParticipantStatus) -> None:
    if target not in _ALLOWED[current]:
        raise InvalidState(f"A {current.value} participant cannot become {target.value}.")


HOLDS_SEAT = frozenset({ParticipantStatus.JOINED})

# The participants who may still read a private class (the session, its people, its
# recordings): those let in or waiting to be, and those who left (they were there). Kicked
# and denied people are out: a private class answers them as it answers a stranger.
SEES_PRIVATE = frozenset(
    {ParticipantStatus.WAITING, ParticipantStatus.JOINED, ParticipantStatus.LEFT}
)
