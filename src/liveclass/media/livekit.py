"""Media on LiveKit: clients connect to LiveKit themselves with a token liveclass mints.

How LiveKit enforces what liveclass decided:

- The room is named after the session id and created when the class starts (its size
  limit and empty timeout from the session); it is deleted when the class ends.
- A participant's access token carries exactly the grants of their role (DESIGN.md's
  permission table): what they may publish (``canPublishSources``: screen share only where
  the role allows it), ``canPublishData`` for chat, ``roomAdmin`` for moderators and
  ``roomRecord`` for the host. Nobody without a seat gets one (the waiting room, the kicked).
- A role change updates the connected participant's permissions at once
  (``UpdateParticipant``; LiveKit unpublishes what the new role no longer allows); a kick
  disconnects them (``RemoveParticipant``), and liveclass mints no new token for them.
- Recording is a room composite egress into one MP4, written straight into liveclass's
  recording storage (the S3 bucket, or RECORDINGS_DIR on a disk the egress shares); the
  egress webhooks tell liveclass when the file is complete (``api/providers``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveclass.config import Settings
from liveclass.domain.errors import Unavailable
from liveclass.domain.roles import Action, Role, role_allows
from liveclass.media.backend import MediaParticipant, MediaRoom, MuteKind, RoomSpec
from liveclass.media.livekit_api import FileOutput, LiveKitClient, LiveKitError, S3Upload
from liveclass.media.livekit_messages import ParticipantPermission
from liveclass.media.livekit_tokens import VideoGrants, participant_token

# LiveKit's answers for "already gone", which close, kick and stop treat as done.
_GONE = frozenset({"not_found"})
_NOT_RUNNING = frozenset({"not_found", "failed_precondition"})

_CAMERA = ("camera", "microphone")
_SCREEN = ("screen_share", "screen_share_audio")
_MUTED_SOURCES: dict[MuteKind, tuple[str, ...]] = {
    "audio": ("microphone", "screen_share_audio"),
    "video": ("camera",),
}


@dataclass(frozen=True, slots=True)
class EgressTarget:
    """Where an egress writes a recording's file so that liveclass's storage finds it under
    its key: the S3 bucket (with its prefix), or a folder the egress host shares with
    liveclass (RECORDINGS_DIR, mounted at the same path)."""

    s3: S3Upload | None = None
    prefix: str = ""
    directory: str = ""

    def output(self, key: str) -> FileOutput:
        if self.s3 is not None:
            path = f"{self.prefix}/{key}" if self.prefix else key
            return FileOutput(filepath=path, s3=self.s3)
        return FileOutput(filepath=os.path.join(self.directory, key))

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressTarget:
        if settings.recording_storage == "s3":
            assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
            secret = settings.s3_secret_key
            s3 = S3Upload(
                bucket=settings.s3_bucket,
                region=settings.s3_region or "",
                access_key=settings.s3_access_key or "",
                secret=secret.get_secret_value() if secret is not None else "",
                endpoint=settings.s3_endpoint_url or "",
                # MinIO and most S3 look-alikes serve buckets by path
                force_path_style=bool(settings.s3_endpoint_url),
            )
            return cls(s3=s3, prefix=settings.s3_prefix.strip("/"))
        return cls(directory=os.path.abspath(settings.recordings_dir))


def grants_for(role: Role, room: str) -> VideoGrants:
    """The permission table as LiveKit grants."""
    publish = role_allows(role, Action.PUBLISH)
    sources = _CAMERA if publish else ()
    if role_allows(role, Action.SHARE_SCREEN):
        sources = (*sources, *_SCREEN)
    return VideoGrants(
        room_join=True,
        room=room,
        can_publish=bool(sources),
        can_publish_sources=sources or None,
        can_subscribe=True,
        can_publish_data=role_allows(role, Action.CHAT),
        room_admin=role_allows(role, Action.MODERATE),
        room_record=role_allows(role, Action.RECORD),
    )


def permission_for(role: Role) -> ParticipantPermission:
    """What ``UpdateParticipant`` sets live (the admin and record grants take the next token)."""
    grants = grants_for(role, "-")
    return ParticipantPermission(
        can_subscribe=grants.can_subscribe,
        can_publish=grants.can_publish,
        can_publish_data=grants.can_publish_data,
        can_publish_sources=tuple(grants.can_publish_sources or ()),
    )


def room_name(session_id: uuid.UUID) -> str:
    """A session's LiveKit room: its id, as seed 001's token example (``room: session_id``)."""
    return str(session_id)


class LiveKitBackend:
    """``MediaBackend`` for one LiveKit deployment (self-hosted or LiveKit Cloud)."""

    name = "livekit"
    stores_recordings = True

    def __init__(
        self,
        *,
        client_url: str,
        client: LiveKitClient,
        api_key: str,
        api_secret: str,
        token_ttl_seconds: int = 600,
        empty_timeout_seconds: int = 600,
        egress: EgressTarget | None = None,
    ) -> None:
        self.client_url = client_url
        self._client = client
        self._api_key = api_key
        self._api_secret = api_secret
        self._ttl = token_ttl_seconds
        self._empty_timeout = empty_timeout_seconds
        self._egress = egress or EgressTarget(directory=os.path.abspath("recordings"))

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveKitBackend:
        url, key, secret, api = (
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret,
            settings.livekit_api_base,
        )
        assert url and key and secret and api  # built only when livekit_configured
        return cls(
            client_url=url,
            client=LiveKitClient(api, api_key=key, api_secret=secret.get_secret_value()),
            api_key=key,
            api_secret=secret.get_secret_value(),
            token_ttl_seconds=settings.livekit_token_ttl_seconds,
            empty_timeout_seconds=settings.livekit_empty_timeout_seconds,
            egress=EgressTarget.from_settings(settings),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- MediaBackend -----------------------------------------------------------------

    async def open_room(self, spec: RoomSpec) -> MediaRoom:
        room = room_name(spec.session_id)
        data = {
            "session_id": str(spec.session_id),
            "room": room,
            "max_participants": spec.max_participants,
        }
        media_room = MediaRoom(backend=self.name, server=self.client_url, data=data)
        await self._create(media_room)
        return media_room

    async def grant(self, room: MediaRoom, who: MediaParticipant) -> dict[str, Any]:
        name = _room(room)
        # LiveKit closes a room left empty for a while; the next one in gets it back with
        # the class's limits (CreateRoom answers an existing room as it is).
        await self._create(room)
        grants = grants_for(who.role, name)
        token = self._token(
            name, who.user_id, who.name, who.role, {"participant_id": str(who.participant_id)}
        )
        return {
            "provider": self.name,
            "server_url": self.client_url,
            "room": name,
            "identity": who.user_id,
            "access_token": token,
            "token": token,
            "expires_at": int(time.time()) + self._ttl,
            "can_publish": grants.can_publish,
            "can_publish_sources": list(grants.can_publish_sources or ()),
        }

    def host_token(self, session_id: uuid.UUID, *, user_id: str, name: str) -> str:
        """A host's token for the session's room, minted without calling LiveKit (seed
        001's ``host_token`` on create); it expires like every participant token."""
        return self._token(room_name(session_id), user_id, name, Role.HOST, {})

    def _token(
        self, room: str, identity: str, name: str, role: Role, metadata: dict[str, str]
    ) -> str:
        return participant_token(
            api_key=self._api_key,
            api_secret=self._api_secret,
            room=room,
            identity=identity,
            name=name,
            metadata={**metadata, "role": role.value},
            grants=grants_for(role, room),
            ttl_seconds=self._ttl,
        )

    async def apply_role(self, room: MediaRoom, who: MediaParticipant) -> None:
        metadata = json.dumps(
            {"participant_id": str(who.participant_id), "role": who.role.value},
            separators=(",", ":"),
            sort_keys=True,
        )
        try:
            await self._client.update_participant(
                _room(room), who.user_id, permission=permission_for(who.role), metadata=metadata
            )
        except LiveKitError as exc:
            if exc.code not in _GONE:  # not connected now: their next token has the role
                raise _refused(exc) from exc

    async def remove_participant(self, room: MediaRoom, who: MediaParticipant) -> None:
        try:
            await self._client.remove_participant(_room(room), who.user_id)
        except LiveKitError as exc:
            if exc.code not in _GONE:
                raise _refused(exc) from exc

    async def mute(self, room: MediaRoom, who: MediaParticipant, kind: MuteKind) -> None:
        """Mute what ``who`` publishes of ``kind`` on LiveKit itself (they may unmute)."""
        name = _room(room)
        try:
            people = await self._client.list_participants(name)
            tracks = [
                track.sid
                for person in people
                if person.identity == who.user_id
                for track in person.tracks
                if track.source in _MUTED_SOURCES[kind] and not track.muted
            ]
            for track_sid in tracks:
                await self._client.mute_published_track(name, who.user_id, track_sid)
        except LiveKitError as exc:
            if exc.code not in _GONE:
                raise _refused(exc) from exc

    async def close_room(self, room: MediaRoom) -> None:
        try:
            await self._client.delete_room(_room(room))
        except LiveKitError as exc:
            if exc.code not in _GONE:
                raise _refused(exc) from exc

    async def start_recording(
        self, room: MediaRoom, directory: Path, *, key: str | None = None
    ) -> bool:
        """A room composite egress into one MP4 stored under ``key`` (``directory`` is
        not used: LiveKit's egress writes into the recording storage itself)."""
        key = key or f"livekit/{_room(room)}/{uuid.uuid4().hex}.mp4"
        await self._create(room)
        try:
            await self._client.start_room_composite_egress(_room(room), self._egress.output(key))
        except LiveKitError as exc:
            raise _refused(exc) from exc
        return True

    async def stop_recording(self, room: MediaRoom) -> None:
        try:
            running = await self._client.list_egress(room=_room(room), active=True)
        except LiveKitError as exc:
            if exc.code in _GONE:
                return
            raise _refused(exc) from exc
        for egress in running:
            try:
                await self._client.stop_egress(egress.egress_id)
            except LiveKitError as exc:
                if exc.code not in _NOT_RUNNING:  # it finished meanwhile
                    raise _refused(exc) from exc

    async def _create(self, room: MediaRoom) -> None:
        try:
            await self._client.create_room(
                _room(room),
                max_participants=int(room.data.get("max_participants", 0)),
                empty_timeout=self._empty_timeout,
            )
        except LiveKitError as exc:
            raise _refused(exc) from exc


def _room(room: MediaRoom) -> str:
    return str(room.data["room"])


def _refused(exc: LiveKitError) -> Unavailable:
    # A refusal means our own key, secret or request is wrong for this LiveKit (or a
    # limit of its plan): nothing the caller can fix but retry once it is sorted out.
    return Unavailable(f"LiveKit refused the request ({exc}).", code="MEDIA_UNAVAILABLE")
