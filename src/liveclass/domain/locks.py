"""Lock settings: what a moderator has forbidden students to do in the classroom.

"Student" is any role a moderator outranks (speaker, viewer); the host and co-hosts are never
locked. A lock is on (``True``) when that thing is forbidden.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from liveclass.domain.errors import Invalid
from liveclass.domain.roles import Action, Role, role_allows


class Lock(enum.StrEnum):
    UNMUTE = "student_unmute"
    CAMERA = "student_camera"
    SCREEN = "student_screen"
    CHAT = "student_chat"  # the public chat
    PRIVATE_CHAT = "student_private_chat"  # private chat between two students


def is_student(role: Role) -> bool:
    return not role_allows(role, Action.MODERATE)


@dataclass(frozen=True, slots=True)
class Locks:
    on: frozenset[Lock] = frozenset()

    def applies(self, lock: Lock, role: Role) -> bool:
        """Is ``role`` held back by ``lock``?"""
        return lock in self.on and is_student(role)

    def changed(self, changes: Mapping[str, object]) -> Locks:
        """These locks with some switched; an unknown name or a non-boolean is ``Invalid``."""
        on = set(self.on)
        for name, value in changes.items():
            if name not in Lock.__members__.values() or not isinstance(value, bool):
                raise Invalid(f"'{name}' is no lock, or not true/false.", field="locks")
            (on.add if value else on.discard)(Lock(name))
        return Locks(frozenset(on))

    def as_dict(self) -> dict[str, bool]:
        return {lock.value: lock in self.on for lock in Lock}

    @classmethod
    def of(cls, stored: Mapping[str, object] | None) -> Locks:
        """Locks as stored (``as_dict``); names no longer known are ignored."""
        stored = stored or {}
        return cls(frozenset(lock for lock in Lock if stored.get(lock.value) is True))
