"""Node-to-node messages: one encode, one parse, and a typed refusal of anything else."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from liveclass.domain.roles import Role
from liveclass.realtime import node_messages as n
from liveclass.realtime.bus import MemoryBus
from liveclass.realtime.fanout import Fanout, channel
from liveclass.realtime.room import Room

PID = uuid.uuid4()

EVERY_MESSAGE: list[n.NodeMessage] = [
    n.Deliver({"type": "chat", "text": "héllo"}, to=str(PID), moderators_only=True),
    n.Deliver({"type": "peer_left", "participant_id": str(PID)}, exclude=str(PID)),
    n.Replace(PID, "host:8000/abc"),
    n.Remove(PID, "kicked"),
    n.End("ended_by_host"),
    n.RoleChange(PID, Role.SPEAKER),
    n.Admit(PID),
    n.NodeGone("host:8001"),
    n.PollChanged({"poll": {"status": "open"}, "answered": None}, everyone=True),
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: type(m).__name__)
def test_every_message_comes_back_as_it_went_through_json(message: n.NodeMessage) -> None:
    # Redis carries JSON: what parse reads back is what a MemoryBus hands over unchanged
    wire = json.loads(json.dumps(n.encode(message)))
    assert n.parse(wire) == message
    assert n.parse(n.encode(message)) == message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("not an object", "op"),
        ({}, "op"),
        ({"op": "shout"}, "op"),
        ({"op": "deliver"}, "payload"),
        ({"op": "deliver", "payload": {"text": "no type"}}, "payload.type"),
        ({"op": "deliver", "payload": {"type": "chat"}, "to": 7}, "to"),
        (
            {"op": "deliver", "payload": {"type": "chat"}, "moderators_only": "yes"},
            "moderators_only",
        ),
        ({"op": "replace", "participant_id": str(PID)}, "connection_id"),
        ({"op": "remove", "participant_id": "nobody", "reason": "kicked"}, "participant_id"),
        ({"op": "role", "participant_id": str(PID), "role": "king"}, "role"),
        ({"op": "admit"}, "participant_id"),
        ({"op": "node_gone", "node_id": None}, "node_id"),
        ({"op": "poll", "state": {"poll": {}}, "everyone": True}, "state.poll.status"),
    ],
)
def test_anything_else_is_refused_naming_the_field(raw: Any, field: str) -> None:
    with pytest.raises(n.NodeMessageError) as refused:
        n.parse(raw)
    assert refused.value.field == field


async def test_fanout_hands_on_typed_messages_and_logs_what_it_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus()
    room = Room(uuid.uuid4())
    fanout = Fanout(bus, {room.session_id: room})
    got: list[tuple[Room, n.NodeMessage]] = []

    async def handler(to: Room, message: n.NodeMessage) -> None:
        got.append((to, message))

    await fanout.start(handler)
    await fanout.subscribe(room.session_id)
    with caplog.at_level(logging.WARNING, logger="liveclass.realtime.fanout"):
        await bus.publish(channel(room.session_id), {"op": "admit", "participant_id": "x"})
        await bus.publish(channel(room.session_id), {"op": "shout"})
        await fanout.publish(room.session_id, n.Admit(PID))
    assert got == [(room, n.Admit(PID))]
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 2 and all("refused" in r for r in refusals)
    assert "'participant_id'" in refusals[0] and "'op'" in refusals[1]
