"""LiveKit's messages as liveclass reads them: ``Room``, ``ParticipantInfo``, ``TrackInfo``
and ``EgressInfo`` from its protobuf definitions (livekit/protocol), in their JSON form.

LiveKit's Twirp server answers with the proto field names (``empty_timeout``), its webhooks
use protojson's default camelCase (``egressInfo``), and proxies or future versions may do
either, so every reader accepts both spellings. protojson writes 64-bit integers as strings
and enums as their names (or numbers); both forms are accepted too. Unknown fields are
ignored: LiveKit adds fields often, and none of them may break a call that worked.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What LiveKit calls a participant's media sources, in a token's ``canPublishSources``.
TRACK_SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def value_of(message: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """``message[name]`` under its proto name or its camelCase JSON name."""
    if name in message:
        return message[name]
    return message.get(_camel(name), default)


def text(message: Mapping[str, Any], name: str) -> str:
    value = value_of(message, name, "")
    return value if isinstance(value, str) else str(value)


def integer(message: Mapping[str, Any], name: str) -> int:
    """An int32/int64 field; protojson writes int64 as a decimal string."""
    value = value_of(message, name, 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def flag(message: Mapping[str, Any], name: str) -> bool:
    return value_of(message, name, False) is True


def submessage(message: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = value_of(message, name, None)
    return value if isinstance(value, Mapping) else {}


def submessages(message: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = value_of(message, name, None)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def enum_name(value: Any, names: tuple[str, ...], *, prefix: str = "") -> str:
    """A protobuf enum value (name or number) as its name without ``prefix``, lowercased."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str):
        bare = value.removeprefix(prefix).lower()
        if bare in names:
            return bare
    return names[0]


class EgressStatus(enum.IntEnum):
    """``livekit.EgressStatus``; numbers as in the proto."""

    STARTING = 0
    ACTIVE = 1
    ENDING = 2
    COMPLETE = 3
    FAILED = 4
    ABORTED = 5
    LIMIT_REACHED = 6

    @classmethod
    def parse(cls, value: Any) -> EgressStatus:
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value) if value in cls._value2member_map_ else cls.STARTING
        if isinstance(value, str):
            name = value.removeprefix("EGRESS_")
            if name in cls.__members__:
                return cls[name]
        return cls.STARTING

    @property
    def active(self) -> bool:
        """Still running: LiveKit lets only these be stopped."""
        return self in (EgressStatus.STARTING, EgressStatus.ACTIVE)


# ``livekit.TrackSource`` in proto order (UNKNOWN = 0).
_SOURCES = ("unknown", *TRACK_SOURCES)
_TRACK_TYPES = ("audio", "video", "data")


@dataclass(frozen=True, slots=True)
class LiveKitRoom:
    sid: str
    name: str
    empty_timeout: int
    max_participants: int
    creation_time: int
    num_participants: int
    metadata: str
    active_recording: bool

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> LiveKitRoom:
        return cls(
            sid=text(message, "sid"),
            name=text(message, "name"),
            empty_timeout=integer(message, "empty_timeout"),
            max_participants=integer(message, "max_participants"),
            creation_time=integer(message, "creation_time"),
            num_participants=integer(message, "num_participants"),
            metadata=text(message, "metadata"),
            active_recording=flag(message, "active_recording"),
        )


@dataclass(frozen=True, slots=True)
class ParticipantPermission:
    """``livekit.ParticipantPermission``: what a connected participant may do right now."""

    can_subscribe: bool = False
    can_publish: bool = False
    can_publish_data: bool = False
    # empty means "every source" when can_publish is true, as in LiveKit
    can_publish_sources: tuple[str, ...] = ()
    hidden: bool = False
    can_update_metadata: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.can_publish_sources) - set(TRACK_SOURCES)
        if unknown:
            raise ValueError(f"unknown LiveKit track sources: {sorted(unknown)}")

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> ParticipantPermission:
        sources = value_of(message, "can_publish_sources", []) or []
        return cls(
            can_subscribe=flag(message, "can_subscribe"),
            can_publish=flag(message, "can_publish"),
            can_publish_data=flag(message, "can_publish_data"),
            can_publish_sources=tuple(
                enum_name(source, _SOURCES) for source in sources if source is not None
            ),
            hidden=flag(message, "hidden"),
            can_update_metadata=flag(message, "can_update_metadata"),
        )

    def to_message(self) -> dict[str, Any]:
        """The JSON body LiveKit reads; sources as the enum names protojson expects."""
        return {
            "can_subscribe": self.can_subscribe,
            "can_publish": self.can_publish,
            "can_publish_data": self.can_publish_data,
            "can_publish_sources": [source.upper() for source in self.can_publish_sources],
            "hidden": self.hidden,
            "can_update_metadata": self.can_update_metadata,
        }


@dataclass(frozen=True, slots=True)
class LiveKitTrack:
    sid: str
    name: str
    kind: str  # audio | video | data
    source: str  # one of TRACK_SOURCES, or "unknown"
    muted: bool

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> LiveKitTrack:
        return cls(
            sid=text(message, "sid"),
            name=text(message, "name"),
            kind=enum_name(value_of(message, "type", 0), _TRACK_TYPES),
            source=enum_name(value_of(message, "source", 0), _SOURCES),
            muted=flag(message, "muted"),
        )


_PARTICIPANT_STATES = ("joining", "joined", "active", "disconnected")


@dataclass(frozen=True, slots=True)
class LiveKitParticipant:
    sid: str
    identity: str
    name: str
    metadata: str
    state: str  # joining | joined | active | disconnected
    joined_at: int
    permission: ParticipantPermission
    tracks: tuple[LiveKitTrack, ...]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> LiveKitParticipant:
        return cls(
            sid=text(message, "sid"),
            identity=text(message, "identity"),
            name=text(message, "name"),
            metadata=text(message, "metadata"),
            state=enum_name(value_of(message, "state", 0), _PARTICIPANT_STATES),
            joined_at=integer(message, "joined_at"),
            permission=ParticipantPermission.parse(submessage(message, "permission")),
            tracks=tuple(LiveKitTrack.parse(track) for track in submessages(message, "tracks")),
        )


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file an egress wrote (``livekit.FileInfo``); times in nanoseconds, as LiveKit's."""

    filename: str
    location: str
    size: int
    duration: int
    started_at: int
    ended_at: int

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> FileResult:
        return cls(
            filename=text(message, "filename"),
            location=text(message, "location"),
            size=integer(message, "size"),
            duration=integer(message, "duration"),
            started_at=integer(message, "started_at"),
            ended_at=integer(message, "ended_at"),
        )


@dataclass(frozen=True, slots=True)
class EgressInfo:
    egress_id: str
    room_id: str
    room_name: str
    status: EgressStatus
    started_at: int
    ended_at: int
    error: str
    file_results: tuple[FileResult, ...]

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> EgressInfo:
        files = submessages(message, "file_results")
        # deprecated single-file form, still filled by older egress releases
        legacy = submessage(message, "file")
        if not files and legacy:
            files = [legacy]
        return cls(
            egress_id=text(message, "egress_id"),
            room_id=text(message, "room_id"),
            room_name=text(message, "room_name"),
            status=EgressStatus.parse(value_of(message, "status", 0)),
            started_at=integer(message, "started_at"),
            ended_at=integer(message, "ended_at"),
            error=text(message, "error"),
            file_results=tuple(FileResult.parse(item) for item in files),
        )
