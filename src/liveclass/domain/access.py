"""Who may do what to a session: the owner/admin checks and a caller's role inside it.

Pure rules over what a session and a seat show (``Hosted``, ``Seated``): the caller loads
them, these decide."""

from __future__ import annotations

from typing import Protocol, TypeVar

from liveclass.domain.actors import Actor
from liveclass.domain.errors import NotAllowed, NotFound
from liveclass.domain.participants import SEES_PRIVATE, ParticipantStatus
from liveclass.domain.roles import Action, Role, role_allows


class Hosted(Protocol):
    """A session, as far as who may host and see it is concerned."""

    @property
    def owner_id(self) -> str: ...

    @property
    def is_public(self) -> bool: ...


class Seated(Protocol):
    """A caller's participant row in a session."""

    @property
    def status(self) -> str: ...

    @property
    def role(self) -> str: ...


class Owned(Protocol):
    @property
    def owner_id(self) -> str: ...


S = TypeVar("S", bound=Hosted)


def is_owner_or_admin(actor: Actor, session: Owned) -> bool:
    return may_host(actor, session.owner_id)


def may_host(actor: Actor, owner_id: str) -> bool:
    """The owner of a session (by its ``owner_id``) or an admin: who hosts it."""
    return actor.is_admin or owner_id == actor.user_id


def require_host(actor: Actor, session: Owned) -> None:
    if not is_owner_or_admin(actor, session):
        raise NotAllowed("Only the session's host or an admin may do this.", code="NOT_HOST")


def role_in(actor: Actor, session: Owned, participant: Seated | None) -> Role | None:
    """The actor's effective role: host for owner/admin, else their participant role."""
    if is_owner_or_admin(actor, session):
        return Role.HOST
    if participant is None or participant.status != ParticipantStatus.JOINED:
        return None
    return Role(participant.role)


def require_moderator(actor: Actor, session: Owned, me: Seated | None) -> Role:
    role = role_in(actor, session, me)
    if role is None or not role_allows(role, Action.MODERATE):
        raise NotAllowed("Only the host or a co-host may moderate.", code="NOT_MODERATOR")
    return role


def may_see(actor: Actor, session: Hosted, me: Seated | None) -> bool:
    """Public sessions are seen by anyone; a private one by its host and by the people it
    let in (``SEES_PRIVATE``): a participant row alone is not enough, kicked and denied
    people have one too."""
    if session.is_public or is_owner_or_admin(actor, session):
        return True
    return me is not None and me.status in SEES_PRIVATE


def require_visible(actor: Actor, session: S | None, me: Seated | None) -> S:
    # Private sessions a caller may not see answer exactly like missing ones.
    if session is None or not may_see(actor, session, me):
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    return session
