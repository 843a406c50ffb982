"""The long-lived objects one running liveclass node shares between requests.

Built once (``build_services``) and frozen: what changes while the node runs lives in the
objects it holds (the database pool, the recorder's captures, the room events port), each
owned by its package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from liveclass.auth.issued import TokenIssuer
from liveclass.auth.platform import PlatformVerifier
from liveclass.config import Settings
from liveclass.db.database import Database
from liveclass.domain.errors import Invalid
from liveclass.domain.lifecycle import SessionListener
from liveclass.domain.providers import configured_backend
from liveclass.domain.room_events import RoomEventsPort
from liveclass.media.backend import MediaBackend, MeshBackend
from liveclass.media.hosted import HostedMedia
from liveclass.media.janus import JanusBackend
from liveclass.media.livekit import LiveKitBackend
from liveclass.providers.catalog import configured_hosted
from liveclass.providers.hosted import HostedProvider
from liveclass.recording.capture import SessionRecording
from liveclass.recording.recorder import Recorder
from liveclass.recording.storage import CloudinaryStorage, configured_storage


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    verifier: PlatformVerifier
    issuer: TokenIssuer
    backends: Mapping[str, MediaBackend]
    # the app plugs its hub in (create_app); a CLI command leaves it unplugged
    room_events: RoomEventsPort
    recorder: Recorder
    # told by the session use cases when a session starts and ends, in this order
    session_listeners: tuple[SessionListener, ...]
    # the hosted providers (``providers/catalog.py``), also in ``backends`` as HostedMedia
    hosted: Mapping[str, HostedProvider]

    def backend(self, provider: str) -> MediaBackend:
        missing = self.settings.hosted_missing(provider)
        if provider not in self.backends and missing:
            raise Invalid(
                f"Provider {provider!r} is not configured on this server: set "
                f"{' and '.join(missing)}.",
                code="PROVIDER_UNAVAILABLE",
                field="provider",
            )
        return configured_backend(self.backends, provider)

    def hosted_provider(self, provider: str) -> HostedProvider | None:
        """The hosted provider a session names; None for mesh, Janus and LiveKit."""
        return self.hosted.get(provider)

    async def close(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()
        storage = self.recorder.storage
        storage.close()
        if isinstance(storage, CloudinaryStorage):
            await storage.aclose()
        await self.db.close()


def build_services(settings: Settings) -> Services:
    assert settings.secret_key is not None  # Settings refuses to load without it
    db = Database(settings.database_url)
    issuer = TokenIssuer(
        settings.secret_key.get_secret_value(),
        access_ttl_seconds=settings.access_token_ttl_seconds,
    )
    backends: dict[str, MediaBackend] = {"mesh": MeshBackend()}
    if settings.janus_urls:
        backends["janus"] = JanusBackend.from_settings(settings)
    if settings.livekit_configured:
        backends["livekit"] = LiveKitBackend.from_settings(settings)
    hosted = configured_hosted(settings)
    backends.update({name: HostedMedia(provider) for name, provider in hosted.items()})
    room_events = RoomEventsPort()
    recorder = Recorder(
        settings=settings,
        db=db,
        issuer=issuer,
        backends=backends,
        room_events=room_events,
        storage=configured_storage(settings),
    )
    return Services(
        settings=settings,
        db=db,
        verifier=PlatformVerifier(settings),
        issuer=issuer,
        backends=backends,
        room_events=room_events,
        recorder=recorder,
        session_listeners=(SessionRecording(recorder),),
        hosted=hosted,
    )
