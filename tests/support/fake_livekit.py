"""A stand-in LiveKit server for the tests: the Twirp RoomService and Egress calls liveclass
uses, served by uvicorn on 127.0.0.1 in a thread (no LiveKit server can be installed here).

It follows LiveKit's documented contract, not liveclass's expectations:

- ``POST /twirp/livekit.<Service>/<Method>``, bodies in JSON (either key spelling, checked
  against the real proto messages of ``livekit-protocol``) or binary protobuf, which is
  what ``livekit-api``'s own clients send; answers in the request's encoding, JSON with
  proto field names and default values, as LiveKit's Twirp server writes them (or camelCase,
  to check that readers take both).
- ``Authorization: Bearer <token>`` verified with ``livekit-api``'s ``TokenVerifier``; a bad
  token is a plain 401 (LiveKit's auth middleware), a missing grant a Twirp
  ``unauthenticated`` (``roomCreate`` for rooms, ``roomAdmin`` of that room for participants,
  ``roomRecord`` for egress).
- Twirp errors ``{code, msg}`` with Twirp's HTTP statuses; state for rooms, participants
  (joined with a participant token, see ``connect``) and egresses; every call recorded.
- Webhooks signed as LiveKit signs them, with ``livekit-api``'s ``AccessToken``: a raw JWT
  in ``Authorization`` whose ``sha256`` claim is the body's hash.

Where LiveKit's documents do not say, the fake takes the strict reading (egress for a room
that does not exist is not_found; only a starting or active egress can be stopped).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from livekit.api import AccessToken, TokenVerifier
from livekit.protocol import egress as egress_pb
from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb
from livekit.protocol import webhook as webhook_pb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

PROTOBUF = "application/protobuf"
JSON = "application/json"

# Twirp's error codes and the HTTP status each one travels with (Twirp spec).
TWIRP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}


class TwirpError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class RecordedCall:
    service: str
    method: str
    body: dict[str, Any]  # the request, proto field names
    content_type: str
    claims: dict[str, Any]  # the bearer token's claims as sent (unverified)


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    headers: dict[str, str]


@dataclass
class _Egress:
    info: dict[str, Any]


@dataclass
class _Room:
    info: dict[str, Any]
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# The grant each method needs (LiveKit's server and SDKs): roomCreate, roomAdmin of the
# request's room, or roomRecord.
_GRANT = {
    "CreateRoom": "create",
    "DeleteRoom": "create",
    "StartRoomCompositeEgress": "record",
    "StopEgress": "record",
    "ListEgress": "record",
}


class FakeLiveKit:
    """The server's state and behaviour; ``serve_fake_livekit`` puts it on a port."""

    def __init__(self, api_key: str, api_secret: str, *, camel_case: bool = False) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.camel_case = camel_case
        self.calls: list[RecordedCall] = []
        self.rooms: dict[str, _Room] = {}
        self.egresses: dict[str, _Egress] = {}
        # each egress's requested file outputs, to name its files when it completes
        self.egress_requests: dict[str, list[dict[str, Any]]] = {}
        # answer the next N calls with this Twirp code (e.g. 503 "unavailable")
        self.fail_next = 0
        self.fail_code = "unavailable"
        # hold the next N calls this many seconds before answering
        self.stall_next = 0
        self.stall_seconds = 0.0
        self._lock = threading.Lock()
        self._verifier = TokenVerifier(api_key, api_secret)
        self._methods: dict[tuple[str, str], tuple[type[Message], type[Message], Handler]] = {
            ("livekit.RoomService", "CreateRoom"): (
                room_pb.CreateRoomRequest,
                models_pb.Room,
                self._create_room,
            ),
            ("livekit.RoomService", "DeleteRoom"): (
                room_pb.DeleteRoomRequest,
                room_pb.DeleteRoomResponse,
                self._delete_room,
            ),
            ("livekit.RoomService", "ListParticipants"): (
                room_pb.ListParticipantsRequest,
                room_pb.ListParticipantsResponse,
                self._list_participants,
            ),
            ("livekit.RoomService", "UpdateParticipant"): (
                room_pb.UpdateParticipantRequest,
                models_pb.ParticipantInfo,
                self._update_participant,
            ),
            ("livekit.RoomService", "RemoveParticipant"): (
                room_pb.RoomParticipantIdentity,
                room_pb.RemoveParticipantResponse,
                self._remove_participant,
            ),
            ("livekit.RoomService", "MutePublishedTrack"): (
                room_pb.MuteRoomTrackRequest,
                room_pb.MuteRoomTrackResponse,
                self._mute_published_track,
            ),
            ("livekit.Egress", "StartRoomCompositeEgress"): (
                egress_pb.RoomCompositeEgressRequest,
                egress_pb.EgressInfo,
                self._start_room_composite_egress,
            ),
            ("livekit.Egress", "StopEgress"): (
                egress_pb.StopEgressRequest,
                egress_pb.EgressInfo,
                self._stop_egress,
            ),
            ("livekit.Egress", "ListEgress"): (
                egress_pb.ListEgressRequest,
                egress_pb.ListEgressResponse,
                self._list_egress,
            ),
        }

    # the HTTP edge

    async def handle(self, request: Request) -> Response:
        service, method = request.path_params["service"], request.path_params["method"]
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        raw = await request.body()
        with self._lock:
            stall = self._take_stall()
        if stall:
            await asyncio.sleep(stall)
        entry = self._methods.get((service, method))
        if entry is None:
            return self._error(TwirpError("bad_route", f"no handler for {service}/{method}"))
        request_type, reply_type, handler = entry
        try:
            body = self._decode(raw, content_type, request_type)
        except TwirpError as exc:
            return self._error(exc)
        with self._lock:
            self.calls.append(
                RecordedCall(service, method, body, content_type, _unverified_claims(token))
            )
            if self.fail_next > 0:
                self.fail_next -= 1
                return self._error(TwirpError(self.fail_code, "the fake was told to fail"))
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return PlainTextResponse("invalid authorization header", status_code=401)
        try:
            claims = self._verifier.verify(token)
        except Exception:  # TokenVerifier raises pyjwt's errors and ValueError
            return PlainTextResponse("invalid authorization token", status_code=401)
        try:
            with self._lock:
                self._authorize(_GRANT.get(method, "admin"), body, claims.video)
                reply = handler(body, claims)
        except TwirpError as exc:
            return self._error(exc)
        return self._encode(reply, reply_type, content_type)

    def _take_stall(self) -> float:
        if self.stall_next > 0:
            self.stall_next -= 1
            return self.stall_seconds
        return 0.0

    def _decode(self, raw: bytes, content_type: str, request_type: type[Message]) -> dict[str, Any]:
        message = request_type()
        try:
            if content_type == PROTOBUF:
                message.ParseFromString(raw)
            elif content_type == JSON:
                json_format.Parse(raw or b"{}", message)
            else:
                raise TwirpError("bad_route", f"unexpected Content-Type {content_type!r}")
        except (DecodeError, json_format.ParseError) as exc:
            raise TwirpError("malformed", f"the body could not be decoded: {exc}") from exc
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    def _encode(
        self, reply: dict[str, Any], reply_type: type[Message], content_type: str
    ) -> Response:
        message = json_format.ParseDict(reply, reply_type())
        if content_type == PROTOBUF:
            return Response(message.SerializeToString(), media_type=PROTOBUF)
        as_dict = json_format.MessageToDict(
            message,
            preserving_proto_field_name=not self.camel_case,
            always_print_fields_with_no_presence=True,
        )
        return Response(json.dumps(as_dict), media_type=JSON)

    @staticmethod
    def _error(exc: TwirpError) -> Response:
        body = json.dumps({"code": exc.code, "msg": exc.msg})
        return Response(body, status_code=TWIRP_STATUS[exc.code], media_type=JSON)

    @staticmethod
    def _authorize(grant: str, body: dict[str, Any], video: Any) -> None:
        if grant == "record":
            allowed = bool(video.room_record)
        elif grant == "create":
            allowed = bool(video.room_create)
        else:
            allowed = bool(video.room_admin) and video.room == body.get("room", "")
        if not allowed:
            raise TwirpError("unauthenticated", "permissions denied")

    # RoomService

    def _room(self, name: str) -> _Room:
        room = self.rooms.get(name)
        if room is None:
            raise TwirpError("not_found", "requested room does not exist")
        return room

    def _participant(self, body: dict[str, Any]) -> tuple[_Room, dict[str, Any]]:
        room = self._room(body.get("room", ""))
        participant = room.participants.get(body.get("identity", ""))
        if participant is None:
            raise TwirpError("not_found", "participant not found")
        return room, participant

    def _create_room(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        name = body.get("name", "")
        if not name:
            raise TwirpError("invalid_argument", "room name is required")
        existing = self.rooms.get(name)
        if existing is not None:
            return self._room_info(existing)
        info = {
            "sid": _sid("RM_"),
            "name": name,
            "empty_timeout": body.get("empty_timeout", 300) or 300,
            "departure_timeout": body.get("departure_timeout", 20) or 20,
            "max_participants": body.get("max_participants", 0),
            "metadata": body.get("metadata", ""),
            "creation_time": str(int(time.time())),
        }
        self.rooms[name] = _Room(info)
        return self._room_info(self.rooms[name])

    def _room_info(self, room: _Room) -> dict[str, Any]:
        recording = any(
            e.info["room_name"] == room.info["name"] and e.info["status"] in _ACTIVE
            for e in self.egresses.values()
        )
        return {
            **room.info,
            "num_participants": len(room.participants),
            "num_publishers": sum(1 for p in room.participants.values() if p.get("tracks")),
            "active_recording": recording,
        }

    def _delete_room(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        room = self._room(body.get("room", ""))
        del self.rooms[room.info["name"]]
        # the room's egresses end with it
        for egress in self.egresses.values():
            if egress.info["room_name"] == room.info["name"] and egress.info["status"] in _ACTIVE:
                self._complete(egress)
        return {}

    def _list_participants(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        room = self._room(body.get("room", ""))
        return {"participants": list(room.participants.values())}

    def _update_participant(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        _, participant = self._participant(body)
        if body.get("metadata"):
            participant["metadata"] = body["metadata"]
        if body.get("name"):
            participant["name"] = body["name"]
        if "permission" in body:
            participant["permission"] = body["permission"]
            # LiveKit unpublishes what the new permission no longer allows
            participant["tracks"] = [
                track
                for track in participant.get("tracks", [])
                if _may_publish(participant["permission"], track["source"])
            ]
        participant["version"] = participant.get("version", 0) + 1
        return participant

    def _remove_participant(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        room, participant = self._participant(body)
        del room.participants[participant["identity"]]
        return {}

    def _mute_published_track(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        _, participant = self._participant(body)
        for track in participant.get("tracks", []):
            if track["sid"] == body.get("track_sid"):
                track["muted"] = bool(body.get("muted", False))
                return {"track": track}
        raise TwirpError("not_found", "track is not found")

    # Egress

    def _start_room_composite_egress(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        room = self._room(body.get("room_name", ""))
        outputs = body.get("file_outputs") or ([body["file"]] if "file" in body else [])
        if not outputs and not body.get("stream_outputs") and not body.get("segment_outputs"):
            raise TwirpError("invalid_argument", "no output provided")
        info = {
            "egress_id": _sid("EG_"),
            "room_id": room.info["sid"],
            "room_name": room.info["name"],
            "status": "EGRESS_STARTING",
            "started_at": str(time.time_ns()),
            "room_composite": {
                key: body[key] for key in ("room_name", "layout", "audio_only") if key in body
            },
            "file_results": [],
        }
        self.egresses[info["egress_id"]] = _Egress(info)
        self.egress_requests[info["egress_id"]] = outputs
        return info

    def _stop_egress(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        egress = self.egresses.get(body.get("egress_id", ""))
        if egress is None:
            raise TwirpError("not_found", "egress not found")
        if egress.info["status"] not in _ACTIVE:
            raise TwirpError(
                "failed_precondition", f"egress with status {egress.info['status']} cannot stop"
            )
        egress.info["status"] = "EGRESS_ENDING"
        return egress.info

    def _list_egress(self, body: dict[str, Any], claims: Any) -> dict[str, Any]:
        items = [
            egress.info
            for egress in self.egresses.values()
            if body.get("room_name", egress.info["room_name"]) == egress.info["room_name"]
            and body.get("egress_id", egress.info["egress_id"]) == egress.info["egress_id"]
            and (not body.get("active") or egress.info["status"] in _ACTIVE)
        ]
        return {"items": items}

    def _complete(self, egress: _Egress, *, size: int = 1_048_576) -> None:
        outputs = self.egress_requests.get(egress.info["egress_id"], [])
        ended = time.time_ns()
        started = int(egress.info["started_at"])
        egress.info["status"] = "EGRESS_COMPLETE"
        egress.info["ended_at"] = str(ended)
        egress.info["file_results"] = [
            {
                "filename": output.get("filepath", "") or f"{egress.info['egress_id']}.mp4",
                "location": _location(output),
                "size": str(size),
                "duration": str(ended - started),
                "started_at": str(started),
                "ended_at": str(ended),
            }
            for output in outputs
        ]

    # what the tests do to the server besides calling it

    def connect(self, token: str, *, sources: tuple[str, ...] = ()) -> dict[str, Any]:
        """A client joins with a participant ``token`` and publishes ``sources``; as LiveKit
        does on a signal connection, the token decides identity, room and permissions."""
        claims = self._verifier.verify(token)
        video = claims.video
        if video is None or not video.room_join or not video.room:
            raise PermissionError("the token grants no room join")
        permission = {
            "can_subscribe": video.can_subscribe,
            "can_publish": video.can_publish,
            "can_publish_data": video.can_publish_data,
            "can_publish_sources": [s.upper() for s in video.can_publish_sources or []],
            "hidden": bool(video.hidden),
        }
        with self._lock:
            room = self.rooms.get(video.room)
            if room is None:  # LiveKit's default: the first join creates the room
                self._create_room({"name": video.room}, claims)
                room = self.rooms[video.room]
            limit = room.info.get("max_participants", 0)
            if (
                limit
                and len(room.participants) >= limit
                and claims.identity not in room.participants
            ):
                raise PermissionError("the room is full")
            tracks: list[dict[str, Any]] = []
            participant: dict[str, Any] = {
                "sid": _sid("PA_"),
                "identity": claims.identity,
                "name": claims.name,
                "metadata": claims.metadata,
                "state": "ACTIVE",
                "joined_at": str(int(time.time())),
                "permission": permission,
                "tracks": tracks,
            }
            for source in sources:
                if not _may_publish(permission, source.upper()):
                    raise PermissionError(f"the token does not allow publishing {source}")
                tracks.append(
                    {
                        "sid": _sid("TR_"),
                        "type": "AUDIO" if source.startswith("microphone") else "VIDEO",
                        "source": source.upper(),
                        "muted": False,
                    }
                )
            room.participants[claims.identity] = participant
            return _copy(participant)

    def activate_egress(self, egress_id: str) -> dict[str, Any]:
        with self._lock:
            egress = self.egresses[egress_id]
            egress.info["status"] = "EGRESS_ACTIVE"
            return _copy(egress.info)

    def complete_egress(self, egress_id: str, *, size: int = 1_048_576) -> dict[str, Any]:
        """The egress finished its file (after a stop, or when the room closed)."""
        with self._lock:
            egress = self.egresses[egress_id]
            self._complete(egress, size=size)
            return _copy(egress.info)

    def calls_of(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    # webhooks, as LiveKit sends them

    def webhook_event(self, event: str, **parts: Any) -> dict[str, Any]:
        """A ``WebhookEvent`` (proto field names) with a fresh id and creation time."""
        return {"id": _sid("EV_"), "event": event, "created_at": int(time.time()), **parts}

    def sign_webhook(
        self,
        event: dict[str, Any],
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        ttl: datetime.timedelta = datetime.timedelta(minutes=5),
    ) -> SignedWebhook:
        """The body LiveKit would POST for ``event`` (protojson: camelCase, defaults left
        out) and its ``Authorization``: a token with the body's hash, from livekit-api."""
        message = json_format.ParseDict(event, webhook_pb.WebhookEvent())
        body = json_format.MessageToJson(message, indent=None).encode()
        token = (
            AccessToken(api_key or self.api_key, api_secret or self.api_secret)
            .with_sha256(_b64_sha256(body))
            .with_ttl(ttl)
            .to_jwt()
        )
        return SignedWebhook(
            body, {"Authorization": token, "Content-Type": "application/webhook+json"}
        )


_ACTIVE = ("EGRESS_STARTING", "EGRESS_ACTIVE")


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    """A snapshot the test may keep while the server changes its state."""
    copied: dict[str, Any] = json.loads(json.dumps(message))
    return copied


def _b64_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _may_publish(permission: dict[str, Any], source: str) -> bool:
    if not permission.get("can_publish"):
        return False
    sources = permission.get("can_publish_sources") or []
    return not sources or source in sources


def _location(output: dict[str, Any]) -> str:
    s3 = output.get("s3")
    if isinstance(s3, dict) and s3.get("bucket"):
        return f"s3://{s3['bucket']}/{output.get('filepath', '')}"
    return str(output.get("filepath", ""))


class FakeLiveKitServer(LoopbackApp):
    """``FakeLiveKit`` on a loopback port, which a test may take down and bring back."""

    def __init__(self, fake: FakeLiveKit) -> None:
        self.fake = fake
        app = Starlette(routes=[Route("/twirp/{service}/{method}", fake.handle, methods=["POST"])])
        super().__init__(app, "fake LiveKit server")


@contextmanager
def serve_fake_livekit(
    api_key: str = "APIfake", api_secret: str | None = None, *, camel_case: bool = False
) -> Iterator[FakeLiveKitServer]:
    fake = FakeLiveKit(api_key, api_secret or secrets.token_urlsafe(32), camel_case=camel_case)
    server = FakeLiveKitServer(fake)
    server.start()
    try:
        yield server
    finally:
        server.stop()
