"""The contract every media backend fulfils. A backend never touches the database: the
caller stores the ``MediaRoom`` it returns with the session and hands it back later."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from liveclass.domain.roles import Role


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """What a backend needs to know to open the media room of a session."""

    session_id: uuid.UUID
    title: str
    max_participants: int
    max_publishers: int
    record: bool = False


@dataclass(frozen=True, slots=True)
class MediaRoom:
    """A backend's handle on a session's room, persisted with the session."""

    backend: str
    server: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MediaParticipant:
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role


MuteKind = Literal["audio", "video"]


class MediaBackend(Protocol):
    """A few async steps that move a session's media somewhere."""

    name: str
    # True when the media server writes a recording's finished file into liveclass's
    # recording storage itself and reports it later (LiveKit egress and its webhooks):
    # the recording layer then only starts, stops and waits. False: files come back to
    # this node (Janus's .mjr files, the mesh recorder's WebM) and are processed here.
    stores_recordings: bool

    async def open_room(self, spec: RoomSpec) -> MediaRoom:
        """Create (or re-create) the room; idempotent for the same session."""
        ...

    async def grant(self, room: MediaRoom, who: MediaParticipant) -> dict[str, Any]:
        """Client-side connection details for one participant (sent to their browser only)."""
        ...

    async def apply_role(self, room: MediaRoom, who: MediaParticipant) -> None:
        """Make the room enforce ``who.role`` (e.g. unpublish someone demoted to viewer)."""
        ...

    async def remove_participant(self, room: MediaRoom, who: MediaParticipant) -> None:
        """Drop the participant from the room at once (kick)."""
        ...

    async def mute(self, room: MediaRoom, who: MediaParticipant, kind: MuteKind) -> None:
        """A moderator's mute request: mute what ``who`` publishes of ``kind`` on the media
        server, where it can (the classroom asks their browser to mute either way)."""
        ...

    async def close_room(self, room: MediaRoom) -> None:
        """Destroy the room; idempotent."""
        ...

    async def start_recording(
        self, room: MediaRoom, directory: Path, *, key: str | None = None
    ) -> bool:
        """Make the media server record every feed into ``directory``; a backend that
        ``stores_recordings`` writes one file under storage ``key`` instead.

        False means media never passes a server this backend controls, so the recording
        layer must join a recorder peer instead (mesh).
        """
        ...

    async def stop_recording(self, room: MediaRoom) -> None:
        """Stop recording and close the files; idempotent, and a no-op where nothing records."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (HTTP clients); called when the node shuts down."""
        ...


class MeshBackend:
    """Built-in peer-to-peer media: browsers connect directly, signalled over our WebSocket.
    There is no media server, so the room exists only as presence in the realtime layer."""

    name = "mesh"
    stores_recordings = False

    async def open_room(self, spec: RoomSpec) -> MediaRoom:
        return MediaRoom(backend=self.name, data={"max_publishers": spec.max_publishers})

    async def grant(self, room: MediaRoom, who: MediaParticipant) -> dict[str, Any]:
        return {"provider": self.name}

    async def apply_role(self, room: MediaRoom, who: MediaParticipant) -> None:
        # The realtime layer enforces roles on signaling itself; nothing to do here.
        return None

    async def remove_participant(self, room: MediaRoom, who: MediaParticipant) -> None:
        return None

    async def mute(self, room: MediaRoom, who: MediaParticipant, kind: MuteKind) -> None:
        # Media goes browser to browser: only the mute request to their browser can act.
        return None

    async def close_room(self, room: MediaRoom) -> None:
        return None

    async def start_recording(
        self, room: MediaRoom, directory: Path, *, key: str | None = None
    ) -> bool:
        # Nothing central sees mesh media: the recorder joins as a hidden peer instead.
        return False

    async def stop_recording(self, room: MediaRoom) -> None:
        return None

    async def aclose(self) -> None:
        return None
