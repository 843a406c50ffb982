"""The long-lived objects one running liveclass node shares between requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from liveclass.auth.issued import TokenIssuer
from liveclass.auth.platform import PlatformVerifier
from liveclass.config import Settings
from liveclass.db.database import Database
from liveclass.domain.errors import Invalid
from liveclass.media.backend import MediaBackend, MeshBackend
from liveclass.media.janus import JanusBackend
from liveclass.realtime.events import NoRoomEvents, RoomEvents

if TYPE_CHECKING:
    from liveclass.recording.capture import Capture
    from liveclass.recording.storage import RecordingStorage


@dataclass
class Services:
    settings: Settings
    db: Database
    verifier: PlatformVerifier
    issuer: TokenIssuer
    backends: dict[str, MediaBackend] = field(default_factory=dict)
    room_events: RoomEvents = field(default_factory=NoRoomEvents)
    # Recordings this node is capturing, by recording id (see recording.capture).
    captures: dict[uuid.UUID, Capture] = field(default_factory=dict)
    # Where recordings are kept, made at first use (recording.service.storage_for).
    recording_storage: RecordingStorage | None = None

    def backend(self, provider: str) -> MediaBackend:
        try:
            return self.backends[provider]
        except KeyError:
            raise Invalid(
                f"Provider {provider!r} is not configured on this server.",
                code="PROVIDER_UNAVAILABLE",
                field="provider",
            ) from None

    async def close(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()
        if self.recording_storage is not None:
            self.recording_storage.close()
        await self.db.close()


def build_services(settings: Settings) -> Services:
    assert settings.secret_key is not None  # Settings refuses to load without it
    services = Services(
        settings=settings,
        db=Database(settings.database_url),
        verifier=PlatformVerifier(settings),
        issuer=TokenIssuer(
            settings.secret_key.get_secret_value(),
            access_ttl_seconds=settings.access_token_ttl_seconds,
        ),
    )
    services.backends["mesh"] = MeshBackend()
    if settings.janus_urls:
        services.backends["janus"] = JanusBackend.from_settings(settings)
    return services
