"""What the recording use cases work with on one node: its settings, database and media
backends, where recordings are kept, and the captures it runs. Made once with the node's
services (``build_services``); recording imports nothing above it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from liveclass.auth.issued import TokenIssuer
from liveclass.config import Settings
from liveclass.db.database import Database
from liveclass.domain.providers import configured_backend
from liveclass.domain.room_events import RoomEvents
from liveclass.media.backend import MediaBackend
from liveclass.recording.storage import RecordingStorage


class Capture(Protocol):
    async def stop(self) -> None:
        """Stop capturing; storing the result continues in the background."""
        ...

    def abort(self) -> None:
        """Drop the capture at once (its recording already failed)."""
        ...


class CaptureRegistry:
    """The recordings this node is capturing, by recording id: a capture runs on the node
    that started it, so a stop or shutdown finds it here."""

    def __init__(self) -> None:
        self._by_id: dict[uuid.UUID, Capture] = {}

    def __contains__(self, recording_id: uuid.UUID) -> bool:
        return recording_id in self._by_id

    def add(self, recording_id: uuid.UUID, capture: Capture) -> None:
        self._by_id[recording_id] = capture

    def get(self, recording_id: uuid.UUID) -> Capture | None:
        return self._by_id.get(recording_id)

    def drop(self, recording_id: uuid.UUID) -> None:
        self._by_id.pop(recording_id, None)

    def running(self) -> list[tuple[uuid.UUID, Capture]]:
        return list(self._by_id.items())


@dataclass(frozen=True, slots=True)
class Recorder:
    settings: Settings
    db: Database
    issuer: TokenIssuer
    backends: Mapping[str, MediaBackend]
    room_events: RoomEvents
    # One per node: an S3 client costs tens of milliseconds to build and keeps its
    # connections for the next download.
    storage: RecordingStorage
    captures: CaptureRegistry = field(default_factory=CaptureRegistry)

    def backend(self, provider: str) -> MediaBackend:
        return configured_backend(self.backends, provider)
