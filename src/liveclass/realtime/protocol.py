"""The classroom protocol: one flat JSON object with a ``type``, parsed here into typed messages.

Everything a client sends is validated at this edge; the rest of the realtime layer only sees
the dataclasses below. ``docs/protocol.md`` describes every message in prose.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from liveclass.domain.locks import Lock
from liveclass.domain.polls import MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS
from liveclass.domain.reactions import REACTIONS
from liveclass.domain.roles import Role
from liveclass.domain.timer import MAX_LABEL_CHARS, MAX_TIMER_SECONDS
from liveclass.realtime.errors import ProtocolError

MAX_CHAT_CHARS = 2000
MAX_SDP_CHARS = 60_000
MAX_CANDIDATE_CHARS = 1024


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses; 4xxx mirror HTTP statuses so they read easily."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL = 1002
    POLICY = 1008  # flooding: the rate limit was exceeded again and again
    TOO_BIG = 1009
    BAD_MESSAGE = 4400
    UNAUTHORIZED = 4401  # missing, forged, expired or stale token: refresh and retry
    FORBIDDEN = 4403  # kicked or denied: do not retry
    NOT_FOUND = 4404
    REPLACED = 4409  # the same participant connected again elsewhere
    ENDED = 4410  # the session ended or was cancelled


# Close codes after which a client must not reconnect on its own.
TERMINAL_CLOSE_CODES = frozenset(
    {CloseCode.FORBIDDEN, CloseCode.NOT_FOUND, CloseCode.REPLACED, CloseCode.ENDED}
)


@dataclass(frozen=True, slots=True)
class Offer:
    to: uuid.UUID
    sdp: str
    # stream id -> "camera" | "screen", so the receiver knows which video is a screen.
    streams: dict[str, str]


@dataclass(frozen=True, slots=True)
class Answer:
    to: uuid.UUID
    sdp: str


@dataclass(frozen=True, slots=True)
class Candidate:
    to: uuid.UUID
    # ``None`` is the end-of-candidates marker of trickle ICE.
    candidate: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Chat:
    text: str


@dataclass(frozen=True, slots=True)
class Hand:
    raised: bool
    # A moderator may lower someone else's hand; ``None`` means the sender's own.
    participant_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class MediaState:
    audio: bool
    video: bool
    screen: bool


@dataclass(frozen=True, slots=True)
class Kick:
    participant_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class MuteRequest:
    participant_id: uuid.UUID
    kind: Literal["audio", "video"]


@dataclass(frozen=True, slots=True)
class ChangeRole:
    participant_id: uuid.UUID
    role: Role


@dataclass(frozen=True, slots=True)
class Admit:
    participant_id: uuid.UUID
    admit: bool


@dataclass(frozen=True, slots=True)
class StartSession:
    pass


@dataclass(frozen=True, slots=True)
class EndSession:
    pass


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    nonce: str


@dataclass(frozen=True, slots=True)
class Stats:
    report: dict[str, Any]


# -- teaching tools ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollCreate:
    question: str
    options: tuple[str, ...]
    multiple: bool
    anonymous: bool
    quiz: bool
    correct: tuple[int, ...]  # indexes into ``options``
    open: bool


@dataclass(frozen=True, slots=True)
class PollOpen:
    poll_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PollClose:
    poll_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PollPublish:
    poll_id: uuid.UUID
    visible: bool


@dataclass(frozen=True, slots=True)
class PollAnswer:
    poll_id: uuid.UUID
    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reaction:
    emoji: str


@dataclass(frozen=True, slots=True)
class LowerAllHands:
    pass


@dataclass(frozen=True, slots=True)
class SetLocks:
    changes: dict[str, bool]  # lock name -> on; only the locks to change


@dataclass(frozen=True, slots=True)
class MuteAll:
    pass


@dataclass(frozen=True, slots=True)
class PrivateChat:
    to: uuid.UUID
    text: str


@dataclass(frozen=True, slots=True)
class TimerStart:
    seconds: int
    label: str


@dataclass(frozen=True, slots=True)
class TimerPause:
    pass


@dataclass(frozen=True, slots=True)
class TimerResume:
    pass


@dataclass(frozen=True, slots=True)
class TimerStop:
    pass


TeachingMessage = (
    PollCreate
    | PollOpen
    | PollClose
    | PollPublish
    | PollAnswer
    | Reaction
    | LowerAllHands
    | SetLocks
    | MuteAll
    | PrivateChat
    | TimerStart
    | TimerPause
    | TimerResume
    | TimerStop
)

ClientMessage = (
    Offer
    | Answer
    | Candidate
    | Chat
    | Hand
    | MediaState
    | Kick
    | MuteRequest
    | ChangeRole
    | Admit
    | StartSession
    | EndSession
    | Leave
    | Ping
    | Stats
    | TeachingMessage
)


def parse(raw: str) -> ClientMessage:
    """Turn one text frame into a typed message, or raise ``ProtocolError`` saying why not."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError("BAD_JSON", "The message is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ProtocolError("BAD_MESSAGE", "A message must be a JSON object.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("BAD_MESSAGE", "A message needs a string 'type'.")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ProtocolError("UNKNOWN_TYPE", f"Unknown message type {kind[:40]!r}.")
    return parser(_Fields(kind, data))


class _Fields:
    """Typed access to one message's fields, with errors that name the field."""

    def __init__(self, kind: str, data: dict[str, Any]) -> None:
        self.kind = kind
        self.data = data

    def _bad(self, name: str, want: str) -> ProtocolError:
        return ProtocolError("BAD_MESSAGE", f"'{self.kind}.{name}' must be {want}.", type=self.kind)

    def participant(self, name: str) -> uuid.UUID:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise self._bad(name, "a participant id")
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise self._bad(name, "a participant id") from exc

    def optional_participant(self, name: str) -> uuid.UUID | None:
        return None if self.data.get(name) is None else self.participant(name)

    def text(self, name: str, *, max_chars: int) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or len(value) > max_chars:
            raise self._bad(name, f"a string of at most {max_chars} characters")
        return value

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def identifier(self, name: str, what: str) -> uuid.UUID:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise self._bad(name, what)
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise self._bad(name, what) from exc

    def texts(self, name: str, *, most: int, max_chars: int) -> tuple[str, ...]:
        value = self.data.get(name)
        if (
            not isinstance(value, list)
            or len(value) > most
            or not all(isinstance(v, str) and len(v) <= max_chars for v in value)
        ):
            raise self._bad(name, f"a list of at most {most} strings of {max_chars} characters")
        return tuple(value)

    def integer(self, name: str, *, low: int, high: int) -> int:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._bad(name, f"a whole number from {low} to {high}")
        return value

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        value = self.data.get(name)
        if value not in options:
            raise self._bad(name, "one of " + ", ".join(options))
        assert isinstance(value, str)
        return value


def _offer(f: _Fields) -> Offer:
    streams = f.data.get("streams", {})
    if (
        not isinstance(streams, dict)
        or len(streams) > 8
        or not all(
            isinstance(k, str) and len(k) <= 128 and v in ("camera", "screen")
            for k, v in streams.items()
        )
    ):
        raise f._bad("streams", "an object of stream id -> 'camera' | 'screen'")
    sdp = f.text("sdp", max_chars=MAX_SDP_CHARS)
    return Offer(to=f.participant("to"), sdp=sdp, streams=streams)


def _candidate(f: _Fields) -> Candidate:
    value = f.data.get("candidate")
    if value is None:
        return Candidate(to=f.participant("to"), candidate=None)
    ok = (
        isinstance(value, dict)
        and isinstance(value.get("candidate"), str)
        and len(value["candidate"]) <= MAX_CANDIDATE_CHARS
        and set(value) <= {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
    )
    if not ok:
        raise f._bad("candidate", "an RTCIceCandidateInit object or null")
    return Candidate(to=f.participant("to"), candidate=value)


def _chat(f: _Fields) -> Chat:
    text = f.text("text", max_chars=MAX_CHAT_CHARS).strip()
    if not text:
        raise f._bad("text", "a non-empty string")
    return Chat(text=text)


def _ping(f: _Fields) -> Ping:
    nonce = f.data.get("nonce", "")
    return Ping(nonce=nonce[:64] if isinstance(nonce, str) else "")


def _stats(f: _Fields) -> Stats:
    report = f.data.get("report")
    if not isinstance(report, dict):
        raise f._bad("report", "an object")
    return Stats(report=report)


def _role(f: _Fields) -> ChangeRole:
    role = f.choice("role", tuple(r.value for r in Role))
    return ChangeRole(participant_id=f.participant("participant_id"), role=Role(role))


def _mute(f: _Fields) -> MuteRequest:
    kind = f.choice("kind", ("audio", "video"))
    return MuteRequest(
        participant_id=f.participant("participant_id"), kind="audio" if kind == "audio" else "video"
    )


def _poll_id(f: _Fields) -> uuid.UUID:
    return f.identifier("poll_id", "a poll id")


def _poll_create(f: _Fields) -> PollCreate:
    correct = f.data.get("correct", [])
    if not isinstance(correct, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in correct
    ):
        raise f._bad("correct", "a list of option indexes")
    return PollCreate(
        question=f.text("question", max_chars=MAX_QUESTION_CHARS),
        options=f.texts("options", most=MAX_OPTIONS, max_chars=MAX_OPTION_CHARS),
        multiple=f.flag("multiple", False),
        anonymous=f.flag("anonymous", False),
        quiz=f.flag("quiz", False),
        correct=tuple(correct[: MAX_OPTIONS + 1]),
        open=f.flag("open", False),
    )


def _poll_answer(f: _Fields) -> PollAnswer:
    options = f.texts("options", most=MAX_OPTIONS, max_chars=2)
    return PollAnswer(poll_id=_poll_id(f), options=options)


def _reaction(f: _Fields) -> Reaction:
    return Reaction(emoji=f.choice("emoji", REACTIONS))


def _set_locks(f: _Fields) -> SetLocks:
    locks = f.data.get("locks")
    names = {lock.value for lock in Lock}
    if (
        not isinstance(locks, dict)
        or not set(locks) <= names
        or not all(isinstance(v, bool) for v in locks.values())
    ):
        raise f._bad("locks", "an object of lock name -> true | false (" + ", ".join(names) + ")")
    return SetLocks(changes=dict(locks))


def _private_chat(f: _Fields) -> PrivateChat:
    text = f.text("text", max_chars=MAX_CHAT_CHARS).strip()
    if not text:
        raise f._bad("text", "a non-empty string")
    return PrivateChat(to=f.participant("to"), text=text)


def _timer_start(f: _Fields) -> TimerStart:
    label = f.data.get("label", "")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS:
        raise f._bad("label", f"a string of at most {MAX_LABEL_CHARS} characters")
    return TimerStart(seconds=f.integer("seconds", low=1, high=MAX_TIMER_SECONDS), label=label)


_PARSERS: dict[str, Callable[[_Fields], ClientMessage]] = {
    "offer": _offer,
    "answer": lambda f: Answer(to=f.participant("to"), sdp=f.text("sdp", max_chars=MAX_SDP_CHARS)),
    "candidate": _candidate,
    "chat": _chat,
    "hand": lambda f: Hand(
        raised=f.flag("raised"), participant_id=f.optional_participant("participant_id")
    ),
    "media_state": lambda f: MediaState(
        audio=f.flag("audio"), video=f.flag("video"), screen=f.flag("screen", False)
    ),
    "kick": lambda f: Kick(participant_id=f.participant("participant_id")),
    "mute_request": _mute,
    "change_role": _role,
    "admit": lambda f: Admit(
        participant_id=f.participant("participant_id"), admit=f.flag("admit", True)
    ),
    "start_session": lambda f: StartSession(),
    "end_session": lambda f: EndSession(),
    "leave": lambda f: Leave(),
    "ping": _ping,
    "stats": _stats,
    "poll_create": _poll_create,
    "poll_open": lambda f: PollOpen(poll_id=_poll_id(f)),
    "poll_close": lambda f: PollClose(poll_id=_poll_id(f)),
    "poll_publish": lambda f: PollPublish(poll_id=_poll_id(f), visible=f.flag("visible", True)),
    "poll_answer": _poll_answer,
    "reaction": _reaction,
    "lower_all_hands": lambda f: LowerAllHands(),
    "set_locks": _set_locks,
    "mute_all": lambda f: MuteAll(),
    "private_chat": _private_chat,
    "timer_start": _timer_start,
    "timer_pause": lambda f: TimerPause(),
    "timer_resume": lambda f: TimerResume(),
    "timer_stop": lambda f: TimerStop(),
}


def encode(message: dict[str, Any]) -> str:
    """Serialize a server message once; fan-out sends the same text to every socket."""
    return json.dumps(message, separators=(",", ":"), default=str)
