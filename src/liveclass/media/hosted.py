"""A hosted provider seen as a media backend, so the session, join and recording paths that
already drive media backends drive it too.

The provider's meeting is made when the class is scheduled (``control/hosted.py``) and kept
as the session's media room: ``MediaRoom(backend=<provider>, server=<meeting link>,
data=Meeting.stored())``. The provider records into its own cloud and reports the file by
webhook (``stores_recordings``); liveclass then downloads it into its recording storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liveclass.domain.errors import Conflict
from liveclass.media.backend import MediaParticipant, MediaRoom, MuteKind, RoomSpec
from liveclass.providers.hosted import Attendee, Ejects, HostedProvider, Meeting


def room_of(meeting: Meeting) -> MediaRoom:
    return MediaRoom(backend=meeting.provider, server=meeting.url, data=meeting.stored())


def meeting_of(room: MediaRoom) -> Meeting:
    return Meeting.of(room.backend, room.data)


class HostedMedia:
    """``MediaBackend`` over a ``HostedProvider``."""

    stores_recordings = True

    def __init__(self, provider: HostedProvider) -> None:
        self.provider = provider
        self.name = provider.name

    async def open_room(self, spec: RoomSpec) -> MediaRoom:
        # the meeting was made with the session; a session without one was never scheduled
        raise Conflict(
            f"This {self.name} session has no meeting on {self.name}.", code="INVALID_STATE"
        )

    async def grant(self, room: MediaRoom, who: MediaParticipant) -> dict[str, Any]:
        attendee = Attendee(who.participant_id, who.user_id, who.name, who.role)
        grant = await self.provider.join(meeting_of(room), attendee)
        media: dict[str, Any] = {
            "join_url": grant.url,
            "meeting_url": room.server,
            **dict(grant.extra),
        }
        if grant.token is not None:
            media["token"] = grant.token
        if grant.expires_at is not None:
            media["expires_at"] = grant.expires_at
        return media

    async def apply_role(self, room: MediaRoom, who: MediaParticipant) -> None:
        # a new role takes effect with the person's next link (their token carries it)
        return None

    async def remove_participant(self, room: MediaRoom, who: MediaParticipant) -> None:
        # the provider's client holds the connection; a kicked person gets no new link, and
        # where the provider can drop them from outside, they are dropped now
        if isinstance(self.provider, Ejects):
            attendee = Attendee(who.participant_id, who.user_id, who.name, who.role)
            await self.provider.kick(meeting_of(room), attendee)

    async def mute(self, room: MediaRoom, who: MediaParticipant, kind: MuteKind) -> None:
        return None

    async def close_room(self, room: MediaRoom) -> None:
        await self.provider.end(meeting_of(room))

    async def start_recording(
        self, room: MediaRoom, directory: Path, *, key: str | None = None
    ) -> bool:
        await self.provider.start_recording(meeting_of(room))
        return True

    async def stop_recording(self, room: MediaRoom) -> None:
        await self.provider.stop_recording(meeting_of(room))

    async def aclose(self) -> None:
        await self.provider.aclose()
