"""The teaching tools' permission table: every new action against every role, on the socket."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from liveclass.domain.roles import Action, Role, role_allows
from tests.realtime.conftest import Classroom, Peer

ROLES = (Role.HOST, Role.CO_HOST, Role.SPEAKER, Role.VIEWER)
Y, N = True, False
#                      host co_host speaker viewer
TABLE: dict[Action, tuple[bool, ...]] = {
    Action.RUN_POLLS:    (Y,   Y,      N,      N),
    Action.ANSWER_POLL:  (Y,   Y,      Y,      Y),
    Action.REACT:        (Y,   Y,      Y,      Y),
    Action.PRIVATE_CHAT: (Y,   Y,      Y,      Y),
    Action.SET_LOCKS:    (Y,   Y,      N,      N),
    Action.RUN_TIMER:    (Y,   Y,      N,      N),
}  # fmt: skip


def test_the_table_is_the_domain_rule() -> None:
    for action, row in TABLE.items():
        assert tuple(role_allows(role, action) for role in ROLES) == row, action


def _message(action: Action, *, poll_id: str, other: str) -> tuple[dict[str, Any], str]:
    """A message exercising ``action``, and the message type that says it was done."""
    messages: dict[Action, tuple[dict[str, Any], str]] = {
        Action.RUN_POLLS: (
            {"type": "poll_create", "question": "Q?", "options": ["a", "b"]},
            "poll",
        ),
        Action.ANSWER_POLL: ({"type": "poll_answer", "poll_id": poll_id, "options": ["0"]}, "poll"),
        Action.REACT: ({"type": "reaction", "emoji": "👍"}, "reaction"),
        Action.PRIVATE_CHAT: ({"type": "private_chat", "to": other, "text": "hi"}, "private_chat"),
        Action.SET_LOCKS: ({"type": "set_locks", "locks": {"student_chat": False}}, "locks"),
        Action.RUN_TIMER: ({"type": "timer_start", "seconds": 30}, "timer"),
    }
    return messages[action]


async def _as(classroom: Classroom, role: Role, host: Peer) -> Peer:
    if role is Role.HOST:
        return host
    peer = await classroom.enter("student-actor", "Actor")
    if role is not Role.SPEAKER:
        await host.send({"type": "change_role", "participant_id": peer.pid, "role": role.value})
        await peer.wait_type("role_changed", participant_id=peer.pid)
    return peer


def _one_of(*kinds: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("type") in kinds


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
async def test_every_teaching_action_for_every_role(classroom: Classroom, role: Role) -> None:
    await classroom.create(default_role="speaker")
    host = await classroom.enter()
    await classroom.start()
    other = await classroom.enter("student-other", "Other")
    actor = await _as(classroom, role, host)
    await host.send(
        {"type": "poll_create", "question": "Open", "options": ["a", "b"], "open": True}
    )
    poll_id = (await other.wait_type("poll"))["poll"]["id"]
    # the open poll reaches the actor too: it must not arrive after the loop cleared its
    # inbox and pass for the answer to the actor's own poll_create
    await actor.wait_for(lambda m: m.get("type") == "poll" and m["poll"]["id"] == poll_id)

    column = ROLES.index(role)
    for action, row in TABLE.items():
        message, done = _message(action, poll_id=poll_id, other=other.pid)
        actor.received.clear()
        await actor.send(message)
        reply = await actor.wait_for(_one_of(done, "error"))
        if row[column]:
            assert reply["type"] == done, (action, reply)
        else:
            assert (reply["type"], reply["code"]) == ("error", "FORBIDDEN"), action
