"""Media on the Janus WebRTC Server's VideoRoom plugin (an SFU), over its HTTP API.

How Janus itself enforces what liveclass decided:

- Every room is private, created with the plugin's ``admin_key`` and a room ``secret``
  that only liveclass knows, so nobody else can edit, kick in or destroy it.
- Joining or subscribing needs the room ``pin``, which only admitted participants get.
- Publishing needs a Janus ``allowed`` token: the room checks tokens on every
  publisher join, and liveclass puts a participant's token in the list only while
  their role may publish. Viewers get the pin but no token, so Janus refuses them as
  publishers whatever their browser does; they subscribe only.
- A demotion or kick takes the token out of the list and kicks the participant's
  feeds (their ids are chosen by liveclass, see ``JanusCredentials.feed_ids``).

Rooms get deterministic ids and credentials, so opening is idempotent and a room
lost in a Janus restart is re-created identically by the next ``grant``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from liveclass.config import JanusServerUrls, Settings
from liveclass.domain.errors import Unavailable
from liveclass.domain.roles import Action, role_allows
from liveclass.media.backend import MediaParticipant, MediaRoom, MuteKind, RoomSpec
from liveclass.media.janus_api import (
    NO_SUCH_FEED,
    NO_SUCH_ROOM,
    ROOM_EXISTS,
    JanusClient,
    VideoRoomError,
    VideoRoomHandle,
    media_unavailable,
)
from liveclass.media.janus_credentials import JanusCredentials

# Each publisher may add a screen share as a second feed.
FEEDS_PER_PUBLISHER = 2


class JanusBackend:
    """``MediaBackend`` for Janus VideoRoom on one or several servers.

    Each of ``servers`` is the Janus HTTP API URL liveclass uses (``http://10.0.0.5:8088/janus``),
    optionally followed by ``|`` and the URL browsers use for the same server, typically its
    WebSocket transport (``wss://janus-a.example.org/ws``). Without it browsers get the API URL
    itself and talk to Janus's HTTP transport (long polling), see ``JanusServerUrls``.
    """

    name = "janus"
    stores_recordings = False

    def __init__(
        self,
        servers: Sequence[str],
        *,
        credentials_key: bytes,
        admin_key: str | None = None,
        api_secret: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not servers:
            raise ValueError("JanusBackend needs at least one Janus URL")
        parsed = [JanusServerUrls.parse(entry) for entry in servers]
        self.servers = [urls.api for urls in parsed]
        # What browsers connect to: the server's WebSocket transport, or its HTTP API URL.
        self._client_urls = {urls.api: urls.browser for urls in parsed}
        self._credentials = JanusCredentials(credentials_key)
        self._admin_key = admin_key
        self._api_secret = api_secret
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._janus = JanusClient(self._http, api_secret=api_secret)

    @classmethod
    def from_settings(cls, settings: Settings) -> JanusBackend:
        """The backend for ``JANUS_URLS``; credentials derive from ``SECRET_KEY``."""
        assert settings.secret_key is not None  # Settings refuses to load without it
        return cls(
            settings.janus_urls,
            credentials_key=settings.secret_key.get_secret_value().encode(),
            admin_key=_reveal(settings.janus_admin_secret),
            api_secret=_reveal(settings.janus_api_secret),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- MediaBackend -----------------------------------------------------------------

    async def open_room(self, spec: RoomSpec) -> MediaRoom:
        """Create the session's room on the least-loaded server, or find it where it is."""
        room = self._credentials.room_id(spec.session_id)
        loads = await self._loads(room)
        if not loads:
            raise media_unavailable(", ".join(self.servers), "no Janus server answered")
        existing = [server for server, load in loads.items() if load is None]
        server = existing[0] if existing else min(loads, key=lambda s: loads[s] or 0)
        media_room = MediaRoom(
            backend=self.name,
            server=server,
            data={
                "session_id": str(spec.session_id),
                "room": room,
                "publishers": spec.max_publishers * FEEDS_PER_PUBLISHER,
                "description": spec.title[:100],
            },
        )
        if not existing:
            async with self._janus.videoroom(server) as handle:
                await self._create(handle, media_room)
        return media_room

    async def grant(self, room: MediaRoom, who: MediaParticipant) -> dict[str, Any]:
        session_id = _session_id(room)
        may_publish = role_allows(who.role, Action.PUBLISH)
        token = self._credentials.publish_token(session_id, who.participant_id)
        async with self._janus.videoroom(_server(room)) as handle:
            try:
                await self._ensure(handle, room)
                await self._set_allowed(handle, room, token, allow=may_publish)
            except VideoRoomError as exc:
                raise _refused(exc) from exc
        camera, screen = self._credentials.feed_ids(session_id, who.participant_id)
        return {
            "provider": self.name,
            "server": _server(room),
            "client_url": self._client_urls.get(_server(room), _server(room)),
            "api_secret": self._api_secret,
            "room": room.data["room"],
            "pin": self._credentials.pin(session_id),
            "display": who.name,
            "can_publish": may_publish,
            "token": token if may_publish else None,
            "feed_id": camera if may_publish else None,
            "screen_feed_id": screen if may_publish else None,
        }

    async def apply_role(self, room: MediaRoom, who: MediaParticipant) -> None:
        if role_allows(who.role, Action.PUBLISH):
            token = self._credentials.publish_token(_session_id(room), who.participant_id)
            async with self._janus.videoroom(_server(room)) as handle:
                try:
                    await self._set_allowed(handle, room, token, allow=True)
                except VideoRoomError as exc:
                    raise _refused(exc) from exc
        else:
            await self._revoke(room, who)

    async def remove_participant(self, room: MediaRoom, who: MediaParticipant) -> None:
        await self._revoke(room, who)

    async def mute(self, room: MediaRoom, who: MediaParticipant, kind: MuteKind) -> None:
        # Janus can only force-mute a publisher's media line by its mid, which liveclass
        # does not track; the mute request to their browser does it.
        return None

    async def close_room(self, room: MediaRoom) -> None:
        async with self._janus.videoroom(_server(room)) as handle:
            try:
                await handle.request(self._room_request(room, "destroy"))
            except VideoRoomError as exc:
                if exc.code != NO_SUCH_ROOM:
                    raise _refused(exc) from exc

    # -- recording --------------------------------------------------------------------

    async def start_recording(
        self, room: MediaRoom, directory: Path, *, key: str | None = None
    ) -> bool:
        """Janus writes one ``.mjr`` per media line of every publisher into ``directory``
        (a path on the Janus machine), including publishers who join later."""
        async with self._janus.videoroom(_server(room)) as handle:
            try:
                await self._ensure(handle, room)
                edit = self._room_request(room, "edit")
                edit["new_rec_dir"] = str(directory)
                await handle.request(edit)
                await self._set_recording(handle, room, on=True)
            except VideoRoomError as exc:
                raise _refused(exc) from exc
        return True

    async def stop_recording(self, room: MediaRoom) -> None:
        async with self._janus.videoroom(_server(room)) as handle:
            try:
                await self._set_recording(handle, room, on=False)
            except VideoRoomError as exc:
                if exc.code != NO_SUCH_ROOM:  # a room that is gone records nothing
                    raise _refused(exc) from exc

    async def _set_recording(self, handle: VideoRoomHandle, room: MediaRoom, *, on: bool) -> None:
        body = self._room_request(room, "enable_recording")
        body["record"] = on
        await handle.request(body)

    # -- placement --------------------------------------------------------------------

    async def _loads(self, room: int) -> dict[str, int | None]:
        """Participants + rooms per reachable server; ``None`` where the room already is."""
        results = await asyncio.gather(
            *(self._server_load(server, room) for server in self.servers),
            return_exceptions=True,
        )
        loads: dict[str, int | None] = {}
        for server, result in zip(self.servers, results, strict=True):
            if isinstance(result, Unavailable):
                continue  # a down server takes no new rooms
            if isinstance(result, BaseException):
                raise result
            loads[server] = result
        return loads

    async def _server_load(self, server: str, room: int) -> int | None:
        async with self._janus.videoroom(server) as handle:
            try:
                listing = await handle.request(self._with_admin_key({"request": "list"}))
            except VideoRoomError as exc:
                raise _refused(exc) from exc
        rooms = listing.get("list", [])
        if any(r.get("room") == room for r in rooms):
            return None
        # A room costs something even while empty (it will fill up soon).
        return len(rooms) + sum(int(r.get("num_participants", 0)) for r in rooms)

    # -- room requests ----------------------------------------------------------------

    async def _create(self, handle: VideoRoomHandle, room: MediaRoom) -> None:
        session_id = _session_id(room)
        body = self._with_admin_key(
            {
                "request": "create",
                "room": room.data["room"],
                "description": room.data["description"],
                "secret": self._credentials.room_secret(session_id),
                "pin": self._credentials.pin(session_id),
                "is_private": True,
                "permanent": False,
                "publishers": room.data["publishers"],
                # An empty list still switches token checks on for publishers.
                "allowed": [],
                # Viewers subscribe without ever joining as a publisher.
                "require_pvtid": False,
            }
        )
        try:
            await handle.request(body)
        except VideoRoomError as exc:
            if exc.code != ROOM_EXISTS:  # lost a race with another node: fine
                raise _refused(exc) from exc

    async def _ensure(self, handle: VideoRoomHandle, room: MediaRoom) -> None:
        """Re-create the room if Janus lost it (restart); a no-op otherwise."""
        reply = await handle.request({"request": "exists", "room": room.data["room"]})
        if not reply.get("exists"):
            await self._create(handle, room)

    async def _set_allowed(
        self, handle: VideoRoomHandle, room: MediaRoom, token: str, *, allow: bool
    ) -> None:
        body = self._room_request(room, "allowed")
        body.update(action="add" if allow else "remove", allowed=[token])
        await handle.request(body)

    async def _revoke(self, room: MediaRoom, who: MediaParticipant) -> None:
        session_id = _session_id(room)
        token = self._credentials.publish_token(session_id, who.participant_id)
        async with self._janus.videoroom(_server(room)) as handle:
            try:
                await self._set_allowed(handle, room, token, allow=False)
            except VideoRoomError as exc:
                if exc.code == NO_SUCH_ROOM:
                    return  # no room, nothing to revoke from
                raise _refused(exc) from exc
            for feed in self._credentials.feed_ids(session_id, who.participant_id):
                await self._kick(handle, room, feed)

    async def _kick(self, handle: VideoRoomHandle, room: MediaRoom, feed: int) -> None:
        body = self._room_request(room, "kick")
        body["id"] = feed
        try:
            await handle.request(body)
        except VideoRoomError as exc:
            if exc.code not in (NO_SUCH_FEED, NO_SUCH_ROOM):  # already gone
                raise _refused(exc) from exc

    def _room_request(self, room: MediaRoom, request: str) -> dict[str, Any]:
        secret = self._credentials.room_secret(_session_id(room))
        return {"request": request, "room": room.data["room"], "secret": secret}

    def _with_admin_key(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._admin_key:
            body["admin_key"] = self._admin_key
        return body


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def _session_id(room: MediaRoom) -> uuid.UUID:
    return uuid.UUID(str(room.data["session_id"]))


def _server(room: MediaRoom) -> str:
    if room.server is None:
        raise ValueError("a Janus MediaRoom always names its server")
    return room.server


def _refused(exc: VideoRoomError) -> Unavailable:
    # A refusal here means our own credentials or config are wrong (e.g. a Janus
    # configured with another admin_key): the caller can only retry later.
    return Unavailable(f"The media server refused the request ({exc}).", code="MEDIA_UNAVAILABLE")
