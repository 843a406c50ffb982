"""What the nodes of a deployment tell each other on the bus, as typed messages.

Every message goes to the channel of one room; each node holding sockets of that room acts
on its own sockets. Like ``protocol.py`` for client frames, there is one ``encode`` (the
plain dict a bus carries) and one ``parse`` (back to the message, refusing anything else
with a ``NodeMessageError`` that names the field), so no handler reads a raw dict.

    op          message         what each node does
    deliver     Deliver         mirror the payload into the room, push it to the audience
    replace     Replace         close the participant's other sockets (they connected again)
    remove      Remove          close the participant's sockets (kick, deny, leave)
    end         End             send ``session_ended`` and close every socket
    role        RoleChange      tell everyone; hand the participant's sockets a fresh token
    admit       Admit           let the participant's waiting sockets into the room
    node_gone   NodeGone        say ``peer_left`` for every socket the dead node held
    poll        PollChanged     send each socket its own view of the poll
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liveclass.domain.roles import Role


class NodeMessageError(ValueError):
    """A bus message that is not one of ours (an unknown ``op``, a missing or bad field)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"'{field}': {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Deliver:
    """A client message for the room: to one participant (``to``), to all but one
    (``exclude``), or to the moderators only. Ids are strings, as the room keys them."""

    payload: dict[str, Any]
    to: str | None = None
    exclude: str | None = None
    moderators_only: bool = False


@dataclass(frozen=True, slots=True)
class Replace:
    participant_id: uuid.UUID
    connection_id: str  # the new socket, which stays open


@dataclass(frozen=True, slots=True)
class Remove:
    participant_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True)
class End:
    reason: str


@dataclass(frozen=True, slots=True)
class RoleChange:
    participant_id: uuid.UUID
    role: Role


@dataclass(frozen=True, slots=True)
class Admit:
    participant_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class NodeGone:
    node_id: str


@dataclass(frozen=True, slots=True)
class PollChanged:
    state: dict[str, Any]  # control.polls' state of one poll
    everyone: bool


NodeMessage = Deliver | Replace | Remove | End | RoleChange | Admit | NodeGone | PollChanged


def encode(message: NodeMessage) -> dict[str, Any]:
    """The dict a bus carries (JSON-ready: ids as strings)."""
    match message:
        case Deliver(payload=payload, to=to, exclude=exclude, moderators_only=moderators_only):
            return {
                "op": "deliver",
                "payload": payload,
                "to": to,
                "exclude": exclude,
                "moderators_only": moderators_only,
            }
        case Replace(participant_id=pid, connection_id=connection_id):
            return {"op": "replace", "participant_id": str(pid), "connection_id": connection_id}
        case Remove(participant_id=pid, reason=reason):
            return {"op": "remove", "participant_id": str(pid), "reason": reason}
        case End(reason=reason):
            return {"op": "end", "reason": reason}
        case RoleChange(participant_id=pid, role=role):
            return {"op": "role", "participant_id": str(pid), "role": role.value}
        case Admit(participant_id=pid):
            return {"op": "admit", "participant_id": str(pid)}
        case NodeGone(node_id=node_id):
            return {"op": "node_gone", "node_id": node_id}
        case PollChanged(state=state, everyone=everyone):
            return {"op": "poll", "state": state, "everyone": everyone}


def parse(raw: object) -> NodeMessage:
    """The message of a bus dict; ``NodeMessageError`` for anything that is not one."""
    if not isinstance(raw, dict):
        raise NodeMessageError("op", "a bus message must be an object")
    f = _Fields(raw)
    op = f.text("op")
    parser = _PARSERS.get(op)
    if parser is None:
        raise NodeMessageError("op", f"unknown op {op!r}")
    return parser(f)


class _Fields:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def _get(self, name: str) -> object:
        if name not in self.raw:
            raise NodeMessageError(name, "is required")
        return self.raw[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise NodeMessageError(name, "must be a string")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, str):
            raise NodeMessageError(name, "must be a string or null")
        return value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name, False)
        if not isinstance(value, bool):
            raise NodeMessageError(name, "must be a boolean")
        return value

    def object(self, name: str) -> dict[str, Any]:
        value = self._get(name)
        if not isinstance(value, dict):
            raise NodeMessageError(name, "must be an object")
        return value

    def participant(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.text("participant_id"))
        except ValueError as exc:
            raise NodeMessageError("participant_id", "must be a UUID") from exc

    def role(self) -> Role:
        try:
            return Role(self.text("role"))
        except ValueError as exc:
            raise NodeMessageError("role", f"must be one of {[r.value for r in Role]}") from exc


def _deliver(f: _Fields) -> Deliver:
    payload = f.object("payload")
    if not isinstance(payload.get("type"), str):
        raise NodeMessageError("payload.type", "must be a string")
    return Deliver(
        payload,
        to=f.optional_text("to"),
        exclude=f.optional_text("exclude"),
        moderators_only=f.flag("moderators_only"),
    )


def _poll(f: _Fields) -> PollChanged:
    state = f.object("state")
    poll = state.get("poll")
    if not isinstance(poll, dict) or not isinstance(poll.get("status"), str):
        raise NodeMessageError("state.poll.status", "must be a string")
    return PollChanged(state, everyone=f.flag("everyone"))


_PARSERS: dict[str, Callable[[_Fields], NodeMessage]] = {
    "deliver": _deliver,
    "replace": lambda f: Replace(f.participant(), f.text("connection_id")),
    "remove": lambda f: Remove(f.participant(), f.text("reason")),
    "end": lambda f: End(f.text("reason")),
    "role": lambda f: RoleChange(f.participant(), f.role()),
    "admit": lambda f: Admit(f.participant()),
    "node_gone": lambda f: NodeGone(f.text("node_id")),
    "poll": _poll,
}
