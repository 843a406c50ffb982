"""What the REST API tells the realtime layer after a change is committed."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from liveclass.domain.roles import Role


class RoomEvents(Protocol):
    async def session_started(self, session_id: uuid.UUID) -> None: ...

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        """Send ``session_ended`` to everyone and close every socket of the session."""
        ...

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        """Close that participant's sockets now (kick, deny, leave)."""
        ...

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None: ...

    async def participant_admitted(
        self, session_id: uuid.UUID, participant_id: uuid.UUID
    ) -> None: ...

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        """Tell everyone in the room that recording is on or off (``recording_state``)."""
        ...

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        """Send the poll of ``state`` (control.polls) to the room, each socket its own view:
        to everyone, or (``everyone`` False) to the moderators and the one who answered."""
        ...


class NoRoomEvents:
    """Used where no realtime layer runs (e.g. a CLI command)."""

    async def session_started(self, session_id: uuid.UUID) -> None:
        return None

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        return None

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        return None

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        return None

    async def participant_admitted(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        return None

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        return None

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        return None
