"""What happens when a client sends a message: checks against the sender's role, then fan-out.

The server is authoritative: the role is the hub's current one (it follows live role
changes), never what the client or its token claims.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from liveclass.domain.actors import Actor
from liveclass.domain.errors import DomainError
from liveclass.domain.locks import Lock
from liveclass.domain.roles import Action
from liveclass.realtime import protocol as p
from liveclass.realtime import teaching
from liveclass.realtime.connection import Connection, ConnectionState
from liveclass.realtime.errors import CloseError, ProtocolError, UserError
from liveclass.realtime.hub import Hub
from liveclass.realtime.ratelimit import TokenBucket

log = logging.getLogger(__name__)

_SIGNALING = (p.Offer, p.Answer, p.Candidate)
# A receive-only participant must not offer to send media in its answers.
_SENDING_DIRECTION = re.compile(r"^a=(sendrecv|sendonly)\s*$", re.MULTILINE)


async def handle(hub: Hub, conn: Connection, raw: str) -> None:
    """Handle one text frame; user-facing refusals become an ``error`` message."""
    try:
        await _handle(hub, conn, raw)
    except (ProtocolError, UserError) as exc:
        conn.push(p.encode(exc.as_message()))


async def _handle(hub: Hub, conn: Connection, raw: str) -> None:
    limit = hub.services.settings.ws_max_message_bytes
    if len(raw) > limit or len(raw.encode()) > limit:
        raise CloseError(
            p.CloseCode.TOO_BIG, "MESSAGE_TOO_BIG", f"Messages are limited to {limit} bytes."
        )
    message = _parse(conn, raw)
    _check_rate(conn.signal_bucket if isinstance(message, _SIGNALING) else conn.chat_bucket)
    if conn.state is ConnectionState.WAITING and not isinstance(message, p.Ping):
        raise UserError("WAITING", "You are in the waiting room until the host admits you.")
    await _dispatch(hub, conn, message)


def _parse(conn: Connection, raw: str) -> p.ClientMessage:
    """The typed message; a refused frame costs a message of the chat bucket (or garbage
    would flood for free), and no failure of parsing reaches the socket as a crash."""
    try:
        return p.parse(raw)
    except ProtocolError:
        _check_rate(conn.chat_bucket)
        raise
    except Exception as exc:  # a validator bug must not drop the socket with 1006
        log.exception("parsing a client frame failed")
        _check_rate(conn.chat_bucket)
        raise ProtocolError("BAD_MESSAGE", "The message could not be read.") from exc


def _check_rate(bucket: TokenBucket) -> None:
    if bucket.allow():
        return
    if bucket.flooding:
        raise CloseError(p.CloseCode.POLICY, "FLOODING", "Too many messages; disconnected.")
    raise UserError("RATE_LIMITED", "Too many messages; this one was dropped.")


def _require(conn: Connection, action: Action, what: str) -> None:
    if not conn.may(action):
        raise UserError("FORBIDDEN", f"A {conn.title} may not {what}.")


async def _dispatch(hub: Hub, conn: Connection, message: p.ClientMessage) -> None:
    me = str(conn.participant_id)
    if isinstance(message, teaching.TEACHING):
        await teaching.handle(hub, conn, message)
        return
    match message:
        case p.Offer(to=to, sdp=sdp, streams=streams):
            _require(conn, Action.PUBLISH, "send media")
            if "screen" in streams.values():
                _require(conn, Action.SHARE_SCREEN, "share the screen")
                teaching.check_unlocked(hub, conn, Lock.SCREEN, "screen sharing")
            await _relay(hub, conn, to, {"type": "offer", "sdp": sdp, "streams": streams})
        case p.Answer(to=to, sdp=sdp):
            if not conn.may(Action.PUBLISH) and _SENDING_DIRECTION.search(sdp):
                raise UserError("FORBIDDEN", f"A {conn.title} may only receive media.")
            await _relay(hub, conn, to, {"type": "answer", "sdp": sdp})
        case p.Candidate(to=to, candidate=candidate):
            await _relay(hub, conn, to, {"type": "candidate", "candidate": candidate})
        case p.Chat(text=text):
            _require(conn, Action.CHAT, "chat")
            teaching.check_unlocked(hub, conn, Lock.CHAT, "the chat")
            await hub.deliver(
                conn,
                {
                    "type": "chat",
                    "id": uuid.uuid4().hex,
                    "participant_id": me,
                    "name": conn.name,
                    "text": text,
                    "sent_at": datetime.now(UTC).isoformat(),
                },
            )
        case p.Hand(raised=raised, participant_id=target):
            await teaching.hand(hub, conn, raised, target)
        case p.MediaState(audio=audio, video=video, screen=screen):
            if audio or video:
                _require(conn, Action.PUBLISH, "send media")
            if screen:
                _require(conn, Action.SHARE_SCREEN, "share the screen")
            _check_media_locks(hub, conn, message)
            await hub.deliver(
                conn,
                {
                    "type": "media_state",
                    "participant_id": me,
                    "audio": audio,
                    "video": video,
                    "screen": screen,
                },
            )
        case p.MuteRequest(participant_id=target, kind=kind):
            _require(conn, Action.MODERATE, "ask others to mute")
            await hub.deliver(
                conn,
                {"type": "mute_request", "kind": kind, "participant_id": me, "name": conn.name},
                to=str(target),
            )
            await _control(hub, conn, message)  # and on the media server, where it can
        case p.Ping(nonce=nonce):
            conn.push(p.encode({"type": "pong", "nonce": nonce}))
        case p.Stats():
            return  # accepted for future quality dashboards; nothing consumes it yet
        case _:
            await _control(hub, conn, message)


async def _relay(hub: Hub, conn: Connection, to: uuid.UUID, payload: dict[str, Any]) -> None:
    if to == conn.participant_id:
        raise ProtocolError("BAD_MESSAGE", "A peer cannot signal itself.", type=payload["type"])
    payload["from"] = str(conn.participant_id)
    await hub.deliver(conn, payload, to=str(to))


def _check_media_locks(hub: Hub, conn: Connection, state: p.MediaState) -> None:
    if state.audio:
        teaching.check_unlocked(hub, conn, Lock.UNMUTE, "unmuting")
    if state.video:
        teaching.check_unlocked(hub, conn, Lock.CAMERA, "cameras")
    if state.screen:
        teaching.check_unlocked(hub, conn, Lock.SCREEN, "screen sharing")


async def _control(hub: Hub, conn: Connection, message: p.ClientMessage) -> None:
    """Host controls run the same use cases as the REST API, with the same rules."""
    use_cases, sid = hub.use_cases, conn.session_id
    actor = Actor(user_id=conn.user_id, name=conn.name)
    try:
        match message:
            case p.Kick(participant_id=target):
                await use_cases.kick(actor, sid, target)
            case p.ChangeRole(participant_id=target, role=role):
                await use_cases.change_role(actor, sid, target, role)
            case p.MuteRequest(participant_id=target, kind=kind):
                await use_cases.mute(actor, sid, target, kind)
            case p.Admit(participant_id=target, admit=admit):
                await use_cases.admit(actor, sid, target, admit=admit)
            case p.StartSession():
                await use_cases.start_session(actor, sid)
            case p.EndSession():
                await use_cases.end_session(actor, sid)
            case p.Leave():
                # The classroom holds no platform token; its socket speaks for the person.
                await use_cases.leave(actor, sid)
    except DomainError as exc:
        raise UserError(exc.code, exc.detail) from exc
