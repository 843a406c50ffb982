"""The classroom socket over real WebSockets: who gets in, what they see, what they may send."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import websockets

from liveclass.auth.issued import TokenIssuer
from liveclass.domain.roles import Role
from tests.conftest import SECRET_KEY
from tests.realtime.conftest import Classroom


async def _closed_with(classroom: Classroom, url: str) -> tuple[int | None, str]:
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        return ws.close_code, ws.close_reason or ""


def _mint(issuer: TokenIssuer, classroom: Classroom, joined: dict[str, Any]) -> str:
    token, _ = issuer.access_token(
        session_id=uuid.UUID(classroom.session_id),
        participant_id=uuid.UUID(joined["participant_id"]),
        user_id="teacher-1",
        name="T",
        role=Role.HOST,
        token_version=1,
    )
    return token


async def test_forged_expired_and_misdirected_tokens_are_refused(classroom: Classroom) -> None:
    await classroom.create()
    joined = await classroom.join()
    other = Classroom(classroom.node, classroom.api, classroom.platform)
    await other.create()

    code, reason = await _closed_with(classroom, classroom.ws_url("not-a-token"))
    assert (code, reason.split(":")[0]) == (4401, "TOKEN_INVALID")

    forged = _mint(TokenIssuer("x" * 40, access_ttl_seconds=60), classroom, joined)
    code, reason = await _closed_with(classroom, classroom.ws_url(forged))
    assert (code, reason.split(":")[0]) == (4401, "TOKEN_INVALID")

    expired = _mint(TokenIssuer(SECRET_KEY, access_ttl_seconds=-5), classroom, joined)
    code, reason = await _closed_with(classroom, classroom.ws_url(expired))
    assert (code, reason.split(":")[0]) == (4401, "TOKEN_EXPIRED")

    code, reason = await _closed_with(
        classroom, classroom.ws_url(joined["access_token"], other.session_id)
    )
    assert (code, reason.split(":")[0]) == (4401, "TOKEN_WRONG_SESSION")

    code, _ = await _closed_with(
        classroom, classroom.ws_url(joined["access_token"], str(uuid.uuid4()))
    )
    assert code == 4401  # the token names another session; an unknown id reveals nothing more
    code, reason = await _closed_with(classroom, classroom.ws_url(joined["access_token"], "nope"))
    assert (code, reason.split(":")[0]) == (4404, "SESSION_NOT_FOUND")


async def test_roster_on_connect_and_presence_after(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1", 'Sam "peers":[] <img src=x>')

    welcome = student.of_type("welcome")[0]
    assert welcome["you"]["role"] == "speaker"
    assert welcome["you"]["permissions"]["can_publish"] is True
    assert welcome["session"]["title"] == "Algebra <b>II</b>"
    assert [p["participant_id"] for p in welcome["peers"]] == [host.pid]
    joined = await host.wait_type("peer_joined")
    assert joined["peer"]["name"] == 'Sam "peers":[] <img src=x>'
    # presence names the socket, so a client can tell a repeat from a reconnect
    socket_of = {p.pid: p.of_type("welcome")[0]["connection_id"] for p in (host, student)}
    assert welcome["peers"][0]["connection_id"] == socket_of[host.pid]
    assert joined["peer"]["connection_id"] == socket_of[student.pid]

    await student.send({"type": "media_state", "audio": True, "video": False, "screen": False})
    await host.wait_type("media_state", participant_id=student.pid, audio=True)
    await student.send({"type": "hand", "raised": True})
    await host.wait_type("hand", participant_id=student.pid, raised=True)

    # a late joiner's roster carries the state of everyone already there
    late = await classroom.enter("student-2", "Kim")
    roster = {p["participant_id"]: p for p in late.of_type("welcome")[0]["peers"]}
    assert roster[student.pid]["hand"] is True and roster[student.pid]["audio"] is True
    assert roster[student.pid]["name"] == 'Sam "peers":[] <img src=x>'
    assert set(roster) == {host.pid, student.pid}
    assert {pid: p["connection_id"] for pid, p in roster.items()} == socket_of

    await student.close()
    await host.wait_type("peer_left", participant_id=student.pid)
    await late.wait_type("peer_left", participant_id=student.pid)


async def test_signaling_reaches_only_the_addressed_peer(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    a = await classroom.enter("student-1")
    b = await classroom.enter("student-2")

    await host.send({"type": "offer", "to": a.pid, "sdp": "v=0 offer", "streams": {"s1": "camera"}})
    offer = await a.wait_type("offer")
    assert offer == {
        "type": "offer",
        "sdp": "v=0 offer",
        "streams": {"s1": "camera"},
        "from": host.pid,
    }
    await a.send({"type": "answer", "to": host.pid, "sdp": "v=0 answer"})
    await a.send(
        {
            "type": "candidate",
            "to": host.pid,
            "candidate": {
                "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
        }
    )
    await host.wait_type("answer", sender=a.pid)
    await host.wait_type("candidate", sender=a.pid)
    await b.send({"type": "ping", "nonce": "n1"})
    await b.wait_type("pong", nonce="n1")
    assert not b.of_type("offer") and not b.of_type("answer") and not b.of_type("candidate")


async def test_a_second_socket_replaces_the_first_without_a_departure(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    joined = await classroom.join()
    second = await classroom.open(joined)

    code, reason = await host.wait_closed()
    assert (code, reason.split(":")[0]) == (4409, "REPLACED")
    await second.send({"type": "ping", "nonce": "still-here"})
    await second.wait_type("pong")
    assert not second.of_type("peer_left")


async def test_a_reconnect_is_announced_with_its_new_socket(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    joined = await classroom.join("student-1", "Sam")
    first = await classroom.open(joined)
    await host.wait_type("peer_joined")
    second = await classroom.open(joined)
    await first.wait_closed()

    await host.wait_for(lambda m: len(host.of_type("peer_joined")) == 2)
    announced = [m["peer"]["connection_id"] for m in host.of_type("peer_joined")]
    sockets = [p.of_type("welcome")[0]["connection_id"] for p in (first, second)]
    assert announced == sockets and sockets[0] != sockets[1]
