"""What the use cases tell the realtime layer after a change is committed.

The port is defined here, below both control/recording (which tell) and realtime (whose
hub listens), so neither has to import the other."""

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


class RoomEventsPort:
    """The room events of one node, made with its services.

    The hub needs the services to run, so it is made after them and plugged in here once
    (``plug``); until then, and where no hub runs, the events go nowhere."""

    def __init__(self) -> None:
        self._target: RoomEvents = NoRoomEvents()
        self._plugged = False

    def plug(self, target: RoomEvents) -> None:
        if self._plugged:
            raise RuntimeError("room events are already plugged into a hub")
        self._target = target
        self._plugged = True

    async def session_started(self, session_id: uuid.UUID) -> None:
        await self._target.session_started(session_id)

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        await self._target.session_ended(session_id, reason)

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        await self._target.participant_removed(session_id, participant_id, reason)

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        await self._target.role_changed(session_id, participant_id, role)

    async def participant_admitted(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        await self._target.participant_admitted(session_id, participant_id)

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        await self._target.recording_changed(session_id, recording_id, state)

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        await self._target.poll_changed(session_id, state, everyone=everyone)
