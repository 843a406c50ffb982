"""A small client for LiveKit's server API: the Twirp JSON calls of RoomService and Egress
that liveclass uses, over httpx.

Each call is ``POST {api_url}/twirp/livekit.<Service>/<Method>`` with a JSON body and a
server token of its own that carries only the grant the method needs (``roomCreate``;
``roomAdmin`` for that one room; ``roomRecord``). Answers are read in snake_case or camelCase
(``livekit_messages``). Errors are split by what the caller can do about them::

    LiveKitError          LiveKit refused the call: HTTP status, Twirp code, msg, meta
                          (not_found, invalid_argument, failed_precondition, ...)
    Unavailable (domain)
    └── LiveKitUnavailable  unreachable, timed out, 5xx or an unreadable answer:
                            503 MEDIA_UNAVAILABLE, retry later
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from liveclass.domain.errors import Unavailable
from liveclass.media.livekit_messages import (
    EgressInfo,
    LiveKitParticipant,
    LiveKitRoom,
    LiveKitTrack,
    ParticipantPermission,
    submessage,
    submessages,
    text,
)
from liveclass.media.livekit_tokens import VideoGrants, server_token

ROOM_SERVICE = "livekit.RoomService"
EGRESS = "livekit.Egress"
DEFAULT_TIMEOUT = 5.0

# Twirp's codes for an answer that is not a Twirp error (Twirp spec, "non-twirp errors").
_HTTP_STATUS_CODES = {
    400: "internal",
    401: "unauthenticated",
    403: "permission_denied",
    404: "bad_route",
    429: "unavailable",
    502: "unavailable",
    503: "unavailable",
    504: "unavailable",
}
_RETRYABLE_CODES = frozenset({"unavailable", "deadline_exceeded"})


class LiveKitError(Exception):
    """LiveKit refused a call with a Twirp error."""

    def __init__(self, status: int, code: str, msg: str, meta: Mapping[str, str] | None = None):
        super().__init__(f"LiveKit error {status} {code}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.meta = dict(meta or {})


class LiveKitUnavailable(Unavailable):
    """LiveKit could not be reached or failed on its side; nothing to fix in the request."""

    code = "MEDIA_UNAVAILABLE"

    def __init__(self, api_url: str, reason: str) -> None:
        super().__init__(f"The LiveKit server {api_url} is unavailable ({reason}); try again.")
        self.reason = reason


def http_url_for(url: str) -> str:
    """The server API base for a LiveKit URL: ``ws(s)://`` becomes ``http(s)://``."""
    for ws, http in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return http + url.removeprefix(ws)
    return url


@dataclass(frozen=True, slots=True)
class S3Upload:
    """Where LiveKit Egress uploads a recording (``livekit.S3Upload``)."""

    bucket: str
    region: str = ""
    access_key: str = ""
    secret: str = ""
    endpoint: str = ""
    force_path_style: bool = False

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"bucket": self.bucket, "force_path_style": self.force_path_style}
        for name in ("region", "access_key", "secret", "endpoint"):
            if value := getattr(self, name):
                message[name] = value
        return message


@dataclass(frozen=True, slots=True)
class FileOutput:
    """One MP4 file a room composite egress writes (``livekit.EncodedFileOutput``). Without
    ``s3`` the file stays on the egress host's disk (or its configured default storage)."""

    filepath: str
    s3: S3Upload | None = None

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"file_type": "MP4", "filepath": self.filepath}
        if self.s3 is not None:
            message["s3"] = self.s3.to_message()
        return message


class LiveKitClient:
    """RoomService and Egress calls against one LiveKit deployment."""

    def __init__(
        self,
        api_url: str,
        *,
        api_key: str,
        api_secret: str,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_url = http_url_for(api_url).rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self._timeout = httpx.Timeout(timeout)
        self._http = http or httpx.AsyncClient(timeout=self._timeout)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # RoomService

    async def create_room(
        self,
        name: str,
        *,
        max_participants: int = 0,
        empty_timeout: int = 0,
        departure_timeout: int = 0,
        metadata: str = "",
    ) -> LiveKitRoom:
        """Create ``name``, or answer the existing room of that name (LiveKit's semantics)."""
        body = {
            "name": name,
            "max_participants": max_participants,
            "empty_timeout": empty_timeout,
            "departure_timeout": departure_timeout,
            "metadata": metadata,
        }
        reply = await self.call(ROOM_SERVICE, "CreateRoom", body, VideoGrants(room_create=True))
        return LiveKitRoom.parse(reply)

    async def delete_room(self, name: str) -> None:
        """Close the room and disconnect everyone; ``LiveKitError`` not_found if it is gone."""
        await self.call(ROOM_SERVICE, "DeleteRoom", {"room": name}, VideoGrants(room_create=True))

    async def list_participants(self, room: str) -> list[LiveKitParticipant]:
        reply = await self.call(ROOM_SERVICE, "ListParticipants", {"room": room}, _admin(room))
        return [LiveKitParticipant.parse(item) for item in submessages(reply, "participants")]

    async def update_participant(
        self,
        room: str,
        identity: str,
        *,
        permission: ParticipantPermission | None = None,
        metadata: str | None = None,
        name: str | None = None,
    ) -> LiveKitParticipant:
        """Change a connected participant live; only the given parts change."""
        body: dict[str, Any] = {"room": room, "identity": identity}
        if permission is not None:
            body["permission"] = permission.to_message()
        if metadata is not None:
            body["metadata"] = metadata
        if name is not None:
            body["name"] = name
        reply = await self.call(ROOM_SERVICE, "UpdateParticipant", body, _admin(room))
        return LiveKitParticipant.parse(reply)

    async def remove_participant(self, room: str, identity: str) -> None:
        """Disconnect ``identity`` now; ``LiveKitError`` not_found if they are not connected."""
        body = {"room": room, "identity": identity}
        await self.call(ROOM_SERVICE, "RemoveParticipant", body, _admin(room))

    async def mute_published_track(
        self, room: str, identity: str, track_sid: str, *, muted: bool = True
    ) -> LiveKitTrack:
        body = {"room": room, "identity": identity, "track_sid": track_sid, "muted": muted}
        reply = await self.call(ROOM_SERVICE, "MutePublishedTrack", body, _admin(room))
        return LiveKitTrack.parse(submessage(reply, "track"))

    # Egress

    async def start_room_composite_egress(
        self, room: str, output: FileOutput, *, layout: str = "grid", audio_only: bool = False
    ) -> EgressInfo:
        body = {
            "room_name": room,
            "layout": layout,
            "audio_only": audio_only,
            "file_outputs": [output.to_message()],
        }
        reply = await self.call(EGRESS, "StartRoomCompositeEgress", body, _recorder())
        return EgressInfo.parse(reply)

    async def stop_egress(self, egress_id: str) -> EgressInfo:
        """Ask the egress to finish its file; ``LiveKitError`` failed_precondition if done."""
        reply = await self.call(EGRESS, "StopEgress", {"egress_id": egress_id}, _recorder())
        return EgressInfo.parse(reply)

    async def list_egress(
        self, *, room: str = "", egress_id: str = "", active: bool = False
    ) -> list[EgressInfo]:
        body = {"room_name": room, "egress_id": egress_id, "active": active}
        reply = await self.call(EGRESS, "ListEgress", body, _recorder())
        return [EgressInfo.parse(item) for item in submessages(reply, "items")]

    # the wire

    async def call(
        self, service: str, method: str, body: Mapping[str, Any], grants: VideoGrants
    ) -> dict[str, Any]:
        """One Twirp JSON call with a fresh token carrying ``grants``."""
        token = server_token(api_key=self._api_key, api_secret=self._api_secret, grants=grants)
        url = f"{self.api_url}/twirp/{service}/{method}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            response = await self._http.post(
                url, json=dict(body), headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise LiveKitUnavailable(self.api_url, type(exc).__name__) from exc
        if response.status_code != 200:
            raise self._refusal(method, response)
        return self._answer(method, response)

    def _answer(self, method: str, response: httpx.Response) -> dict[str, Any]:
        try:
            reply = response.json()
        except ValueError as exc:
            raise LiveKitUnavailable(self.api_url, f"{method} answered no JSON") from exc
        if not isinstance(reply, dict):
            raise LiveKitUnavailable(self.api_url, f"{method} answered no JSON object")
        return reply

    def _refusal(self, method: str, response: httpx.Response) -> LiveKitError | LiveKitUnavailable:
        status = response.status_code
        code, msg, meta = _twirp_error(response)
        if status >= 500 or code in _RETRYABLE_CODES:
            return LiveKitUnavailable(self.api_url, f"{method}: {status} {code}: {msg}")
        return LiveKitError(status, code, msg, meta)


def _twirp_error(response: httpx.Response) -> tuple[str, str, dict[str, str]]:
    """``(code, msg, meta)`` of an error answer, Twirp's or a proxy's."""
    fallback = _HTTP_STATUS_CODES.get(response.status_code, "unknown")
    try:
        error = response.json()
    except ValueError:
        return fallback, response.text[:200].strip(), {}
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return fallback, response.text[:200].strip(), {}
    meta = error.get("meta")
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return error["code"], text(error, "msg"), meta


def _admin(room: str) -> VideoGrants:
    return VideoGrants(room_admin=True, room=room)


def _recorder() -> VideoGrants:
    return VideoGrants(room_record=True)
