"""The seat rule: may one more person of a role be seated in a session?

Decided here alone. The seats unit (``liveclass.db.seats``) compares the numbers this rule
gives (``SeatLimit``) with the session's seat counters, in SQL on the one-statement first
join and in ``SeatLimit.refusal`` under the session lock; nothing else decides it."""

from __future__ import annotations

from dataclasses import dataclass

from liveclass.domain.errors import Conflict
from liveclass.domain.roles import Action, Role, role_allows

# "no limit" as a number the SQL comparison takes (a PostgreSQL integer)
NO_LIMIT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RoomCount:
    """Who else is joined in a session."""

    seated: int  # in one of the seated roles (the capacity counts these)
    publishing: int  # in one of the publishing roles (a mesh room's cap counts these)
    everyone: int  # in any role (the peak counts these)


@dataclass(frozen=True, slots=True)
class SeatLimit:
    """A newcomer in some role is seated while fewer than ``seats`` others are seated
    and fewer than ``publishers`` others publish."""

    seats: int
    publishers: int
    capacity: int  # for the message
    mesh: bool  # the publisher limit is a mesh room's cap (for the message)

    def refusal(self, others: RoomCount) -> Conflict | None:
        """Why the newcomer is refused, or None when there is room."""
        if others.seated >= self.seats:
            return Conflict(
                f"The session is full ({self.capacity} participants).", code="SESSION_FULL"
            )
        if others.publishing >= self.publishers:
            return Conflict(
                f"Peer-to-peer (mesh) sessions carry at most {self.publishers} publishers; "
                "create the session with an SFU provider such as 'janus' for larger classes.",
                code="MESH_FULL",
            )
        return None


@dataclass(frozen=True, slots=True)
class SeatRule:
    """A session's capacity (the host takes no seat of it) and, for a peer-to-peer (mesh)
    room, its cap on publishers."""

    capacity: int
    publisher_cap: int | None  # None: the media server takes any number

    @classmethod
    def of(cls, *, provider: str, max_participants: int, mesh_cap: int) -> SeatRule:
        return cls(max_participants, mesh_cap if provider == "mesh" else None)

    def limit(self, role: Role) -> SeatLimit:
        """What a newcomer in ``role`` needs below."""
        publishes = role_allows(role, Action.PUBLISH)
        capped = self.publisher_cap is not None and publishes
        return SeatLimit(
            seats=NO_LIMIT if role is Role.HOST else self.capacity,
            publishers=self.publisher_cap if capped and self.publisher_cap else NO_LIMIT,
            capacity=self.capacity,
            mesh=capped,
        )

    def role_change(self, role: Role) -> SeatLimit:
        """What a seated person moving to ``role`` needs below: a role change keeps the
        seat, so only a mesh room's publisher cap applies."""
        return SeatLimit(
            seats=NO_LIMIT,
            publishers=self.limit(role).publishers,
            capacity=self.capacity,
            mesh=self.limit(role).mesh,
        )
