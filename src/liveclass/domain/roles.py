"""Roles inside a session and what each may do (DESIGN.md permission table)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PlatformRole(enum.StrEnum):
    """Roles the platform puts in its JWT ``roles`` claim."""

    ADMIN = "admin"
    TEACHER = "teacher"
    MENTOR = "mentor"
    INSTRUCTOR = "instructor"
    STUDENT = "student"


CREATOR_ROLES = frozenset(
    {PlatformRole.ADMIN, PlatformRole.TEACHER, PlatformRole.MENTOR, PlatformRole.INSTRUCTOR}
)


class Role(enum.StrEnum):
    """A participant's role inside one session."""

    HOST = "host"
    CO_HOST = "co_host"
    SPEAKER = "speaker"
    VIEWER = "viewer"


class Action(enum.StrEnum):
    START_END = "start_end"
    PUBLISH = "publish"
    SHARE_SCREEN = "share_screen"
    MODERATE = "moderate"  # change roles, kick, admit, mute requests
    RECORD = "record"
    CHAT = "chat"
    # teaching tools (docs/protocol.md)
    RUN_POLLS = "run_polls"  # create, open, close, publish polls and quizzes
    ANSWER_POLL = "answer_poll"
    REACT = "react"
    PRIVATE_CHAT = "private_chat"
    SET_LOCKS = "set_locks"  # lock settings and "mute all"
    RUN_TIMER = "run_timer"


# What every participant may do with the teaching tools; moderators also run them.
_TAKING_PART = frozenset({Action.ANSWER_POLL, Action.REACT, Action.PRIVATE_CHAT})
_RUNNING_CLASS = frozenset({Action.RUN_POLLS, Action.SET_LOCKS, Action.RUN_TIMER})

_TABLE: dict[Role, frozenset[Action]] = {
    Role.HOST: frozenset(Action),
    Role.CO_HOST: frozenset({Action.PUBLISH, Action.SHARE_SCREEN, Action.MODERATE, Action.CHAT})
    | _TAKING_PART
    | _RUNNING_CLASS,
    Role.SPEAKER: frozenset({Action.PUBLISH, Action.SHARE_SCREEN, Action.CHAT}) | _TAKING_PART,
    Role.VIEWER: frozenset({Action.CHAT}) | _TAKING_PART,
}


def role_allows(role: Role, action: Action) -> bool:
    return action in _TABLE[role]


# Who takes one of a session's max_participants seats (the host always fits), and who
# counts toward a mesh room's publisher cap.
SEATED_ROLES = tuple(r.value for r in Role if r is not Role.HOST)
PUBLISHING_ROLES = tuple(r.value for r in Role if role_allows(r, Action.PUBLISH))


@dataclass(frozen=True, slots=True)
class Permissions:
    """The grant a participant gets with their access token (names follow LiveKit's grants)."""

    can_publish: bool
    can_subscribe: bool
    can_publish_data: bool
    can_share_screen: bool
    room_admin: bool
    can_record: bool

    @classmethod
    def for_role(cls, role: Role) -> Permissions:
        return cls(
            can_publish=role_allows(role, Action.PUBLISH),
            can_subscribe=True,
            can_publish_data=role_allows(role, Action.CHAT),
            can_share_screen=role_allows(role, Action.SHARE_SCREEN),
            room_admin=role_allows(role, Action.MODERATE),
            can_record=role_allows(role, Action.RECORD),
        )

    def as_dict(self) -> dict[str, bool]:
        """The grant as sent in join responses and on the socket (spelt out: the join is a
        hot path, and ``dataclasses.asdict`` deep-copies)."""
        return {
            "can_publish": self.can_publish,
            "can_subscribe": self.can_subscribe,
            "can_publish_data": self.can_publish_data,
            "can_share_screen": self.can_share_screen,
            "room_admin": self.room_admin,
            "can_record": self.can_record,
        }


def is_creator(platform_roles: frozenset[str]) -> bool:
    return any(r in CREATOR_ROLES for r in platform_roles)


def is_admin(platform_roles: frozenset[str]) -> bool:
    return PlatformRole.ADMIN in platform_roles


# A moderator may not hand out a role above their own, nor touch the host.
_RANK = {Role.HOST: 3, Role.CO_HOST: 2, Role.SPEAKER: 1, Role.VIEWER: 0}


def outranks(actor: Role, target: Role) -> bool:
    return _RANK[actor] > _RANK[target]


def may_assign(actor: Role, new_role: Role) -> bool:
    """Host may assign anything but host; co-host may assign up to speaker."""
    if new_role is Role.HOST:
        return False
    return actor is Role.HOST or _RANK[actor] > _RANK[new_role]
