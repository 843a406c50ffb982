"""The teaching tools on the socket: polls, reactions, the hand queue, locks, private chat and
the timer. Each message is checked against the sender's current role, stored where it must
survive a restart, then delivered through the bus like everything else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from liveclass.db import classroom
from liveclass.domain.errors import DomainError, Invalid
from liveclass.domain.locks import Lock, is_student
from liveclass.domain.polls import PollDraft, validate_draft
from liveclass.domain.reactions import REACTION_BURST, REACTIONS_PER_SECOND
from liveclass.domain.roles import Action, Role, role_allows
from liveclass.domain.timer import Timer
from liveclass.realtime import protocol as p
from liveclass.realtime.connection import Connection
from liveclass.realtime.errors import ProtocolError, UserError
from liveclass.realtime.hub import Hub
from liveclass.realtime.ratelimit import TokenBucket
from liveclass.realtime.room import Room

TEACHING = (
    p.PollCreate,
    p.PollOpen,
    p.PollClose,
    p.PollPublish,
    p.PollAnswer,
    p.Reaction,
    p.LowerAllHands,
    p.SetLocks,
    p.MuteAll,
    p.PrivateChat,
    p.TimerStart,
    p.TimerPause,
    p.TimerResume,
    p.TimerStop,
)

_WHAT = {
    Action.RUN_POLLS: "run polls",
    Action.ANSWER_POLL: "answer polls",
    Action.REACT: "send reactions",
    Action.PRIVATE_CHAT: "chat privately",
    Action.SET_LOCKS: "lock the classroom",
    Action.RUN_TIMER: "run the timer",
    Action.MODERATE: "lower everyone's hand",
}


def require(conn: Connection, action: Action) -> None:
    if not conn.may(action):
        raise UserError("FORBIDDEN", f"A {conn.title} may not {_WHAT.get(action, action.value)}.")


def check_unlocked(hub: Hub, conn: Connection, lock: Lock, what: str) -> None:
    """Refuse with ``LOCKED`` when a moderator locked this for the sender's role."""
    room = hub.rooms.get(conn.session_id)
    if room is not None and room.locks.applies(lock, conn.role):
        raise UserError("LOCKED", f"A moderator locked {what} for students.")


async def handle(hub: Hub, conn: Connection, message: p.ClientMessage) -> None:
    try:
        await _handle(hub, conn, message)
    except DomainError as exc:
        raise UserError(exc.code, exc.detail) from exc


async def _handle(hub: Hub, conn: Connection, message: p.ClientMessage) -> None:
    use_cases, sid = hub.use_cases, conn.session_id
    match message:
        case p.PollCreate():
            require(conn, Action.RUN_POLLS)
            await use_cases.create_poll(
                sid, _draft(message), created_by=conn.user_id, open_now=message.open
            )
        case p.PollOpen(poll_id=poll_id):
            require(conn, Action.RUN_POLLS)
            await use_cases.open_poll(sid, poll_id)
        case p.PollClose(poll_id=poll_id):
            require(conn, Action.RUN_POLLS)
            await use_cases.close_poll(sid, poll_id)
        case p.PollPublish(poll_id=poll_id, visible=visible):
            require(conn, Action.RUN_POLLS)
            await use_cases.publish_poll(sid, poll_id, visible=visible)
        case p.PollAnswer(poll_id=poll_id, options=options):
            require(conn, Action.ANSWER_POLL)
            await use_cases.answer_poll(
                sid, poll_id, participant_id=conn.participant_id, chosen=options
            )
        case p.Reaction(emoji=emoji):
            await _reaction(hub, conn, emoji)
        case p.LowerAllHands():
            require(conn, Action.MODERATE)
            await _lower_all(hub, conn)
        case p.SetLocks(changes=changes):
            require(conn, Action.SET_LOCKS)
            await _set_locks(hub, conn, changes)
        case p.MuteAll():
            require(conn, Action.SET_LOCKS)
            await _mute_all(hub, conn)
        case p.PrivateChat(to=to, text=text):
            await _private_chat(hub, conn, to, text)
        case p.TimerStart() | p.TimerPause() | p.TimerResume() | p.TimerStop():
            require(conn, Action.RUN_TIMER)
            await _timer(hub, conn, message)


def _draft(message: p.PollCreate) -> PollDraft:
    draft = PollDraft(
        question=message.question,
        options=message.options,
        multiple=message.multiple,
        anonymous=message.anonymous,
        quiz=message.quiz,
        correct=message.correct,
    )
    try:
        validate_draft(draft)
    except Invalid as exc:
        # a malformed poll is the client's mistake, refused at the edge like any message
        raise ProtocolError(
            "BAD_MESSAGE", f"'poll_create.{exc.field}': {exc.detail}", type="poll_create"
        ) from exc
    return draft


def _room(hub: Hub, conn: Connection) -> Room:
    return hub.rooms[conn.session_id]


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- reactions ---------------------------------------------------------------------------------


async def _reaction(hub: Hub, conn: Connection, emoji: str) -> None:
    require(conn, Action.REACT)
    me = str(conn.participant_id)
    buckets = _room(hub, conn).reaction_buckets
    bucket = buckets.get(me)
    if bucket is None:
        bucket = buckets[me] = TokenBucket(rate=REACTIONS_PER_SECOND, burst=REACTION_BURST)
    if not bucket.allow():
        raise UserError("RATE_LIMITED", "At most one reaction a second; this one was dropped.")
    await hub.deliver(
        conn, {"type": "reaction", "participant_id": me, "emoji": emoji, "sent_at": _now()}
    )


# -- the hand queue ----------------------------------------------------------------------------


async def hand(hub: Hub, conn: Connection, raised: bool, target: uuid.UUID | None) -> None:
    """Raise or lower a hand; the ``hand`` message carries the whole queue in raise order."""
    if not conn.kind.listed:
        raise UserError("FORBIDDEN", f"The {conn.title} has no hand to raise.")
    if target is not None and target != conn.participant_id:
        if not conn.may(Action.MODERATE):
            raise UserError("FORBIDDEN", f"A {conn.role.value} may not lower someone else's hand.")
        if raised:
            raise UserError("FORBIDDEN", "Only the participant can raise their own hand.")
    pid = target or conn.participant_id
    raised_at = None
    async with hub.services.db.transaction() as tx:
        if raised:
            raised_at = await classroom.raise_hand(
                tx, session_id=conn.session_id, participant_id=pid
            )
        else:
            await classroom.lower_hand(tx, session_id=conn.session_id, participant_id=pid)
        queue = await classroom.hand_queue(tx, session_id=conn.session_id)
    await hub.deliver(
        conn,
        {
            "type": "hand",
            "participant_id": str(pid),
            "raised": raised,
            "raised_at": raised_at.isoformat() if raised_at else None,
            "queue": [str(h.participant_id) for h in queue],
        },
    )


async def _lower_all(hub: Hub, conn: Connection) -> None:
    async with hub.services.db.transaction() as tx:
        await classroom.lower_hand(tx, session_id=conn.session_id)
    await hub.deliver(conn, {"type": "hands_cleared", "queue": []})


# -- locks -------------------------------------------------------------------------------------


async def _set_locks(hub: Hub, conn: Connection, changes: dict[str, bool]) -> None:
    locks = _room(hub, conn).locks.changed(changes)
    async with hub.services.db.transaction() as tx:
        await classroom.save_state(tx, session_id=conn.session_id, locks=locks.as_dict())
    await hub.deliver(
        conn,
        {"type": "locks", "locks": locks.as_dict()},
    )


async def _mute_all(hub: Hub, conn: Connection) -> None:
    """Ask every student who may publish to mute, and show their microphones off at once."""
    me = str(conn.participant_id)
    request = {"type": "mute_request", "kind": "audio", "participant_id": me, "name": conn.name}
    for peer in list(_room(hub, conn).peers.values()):
        role = Role(peer.role)
        if not is_student(role) or not role_allows(role, Action.PUBLISH):
            continue
        await hub.deliver(conn, request, to=peer.participant_id)
        if peer.audio:
            await hub.deliver(conn, _muted(peer.participant_id, peer.video, peer.screen))


def _muted(pid: str, video: bool, screen: bool) -> dict[str, Any]:
    return {
        "type": "media_state",
        "participant_id": pid,
        "audio": False,
        "video": video,
        "screen": screen,
    }


# -- private chat ------------------------------------------------------------------------------


async def _private_chat(hub: Hub, conn: Connection, to: uuid.UUID, text: str) -> None:
    require(conn, Action.PRIVATE_CHAT)
    if to == conn.participant_id:
        raise ProtocolError(
            "BAD_MESSAGE", "A private message needs another participant.", type="private_chat"
        )
    room = _room(hub, conn)
    receiver = room.peers.get(str(to))
    if receiver is None:
        raise UserError("NOT_IN_SESSION", "That participant is not in the classroom now.")
    if is_student(Role(receiver.role)):
        check_unlocked(hub, conn, Lock.PRIVATE_CHAT, "private chat between students")
    me = str(conn.participant_id)
    message = {
        "type": "private_chat",
        "id": uuid.uuid4().hex,
        "from": me,
        "name": conn.name,
        "to": str(to),
        "text": text,
        "sent_at": _now(),
    }
    # targeted both ways, so no other socket (nor the recorder) ever sees it
    await hub.deliver(conn, message, to=str(to))
    await hub.deliver(conn, message, to=me)


# -- the timer ---------------------------------------------------------------------------------


async def _timer(hub: Hub, conn: Connection, message: p.ClientMessage) -> None:
    now = datetime.now(UTC)
    timer = _next_timer(_room(hub, conn).timer, message, now)
    async with hub.services.db.transaction() as tx:
        await classroom.save_state(tx, session_id=conn.session_id, timer=timer.stored())
    await hub.deliver(conn, {"type": "timer", **timer.as_message(now)})


def _next_timer(timer: Timer, message: p.ClientMessage, now: datetime) -> Timer:
    match message:
        case p.TimerStart(seconds=seconds, label=label):
            return timer.start(seconds, label, now)
        case p.TimerPause():
            return timer.pause(now)
        case p.TimerResume():
            return timer.resume(now)
        case _:
            return timer.stop()
