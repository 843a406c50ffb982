"""The server is authoritative: every message is checked against the sender's current role."""

from __future__ import annotations

import pytest

from tests.realtime.conftest import Classroom

SENDING_ANSWER = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n"
RECEIVING_ANSWER = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n"


async def test_a_viewer_only_receives_and_chats(classroom: Classroom) -> None:
    await classroom.create(default_role="viewer")
    host = await classroom.enter()
    await classroom.start()
    viewer = await classroom.enter("student-1", "Vic")

    for message in (
        {"type": "offer", "to": host.pid, "sdp": "v=0", "streams": {}},
        {"type": "media_state", "audio": True, "video": False, "screen": False},
        {"type": "media_state", "audio": False, "video": False, "screen": True},
        {"type": "answer", "to": host.pid, "sdp": SENDING_ANSWER},
        {"type": "mute_request", "participant_id": host.pid, "kind": "audio"},
    ):
        viewer.received.clear()
        await viewer.send(message)
        error = await viewer.wait_type("error")
        assert error["code"] == "FORBIDDEN", message
    assert not host.of_type("offer") and not host.of_type("answer")

    await viewer.send({"type": "answer", "to": host.pid, "sdp": RECEIVING_ANSWER})
    await host.wait_type("answer", sdp=RECEIVING_ANSWER)
    await viewer.send({"type": "chat", "text": "  a question  "})
    chat = await host.wait_type("chat")
    assert (chat["text"], chat["name"], chat["participant_id"]) == ("a question", "Vic", viewer.pid)


async def test_only_moderators_moderate(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    speaker = await classroom.enter("student-1")
    other = await classroom.enter("student-2")

    await speaker.send({"type": "kick", "participant_id": other.pid})
    assert (await speaker.wait_type("error"))["code"] in {"NOT_HOST", "FORBIDDEN", "NOT_MODERATOR"}
    speaker.received.clear()
    await speaker.send({"type": "end_session"})
    assert (await speaker.wait_type("error"))["code"] in {"NOT_HOST", "FORBIDDEN"}
    speaker.received.clear()
    await speaker.send({"type": "hand", "raised": False, "participant_id": other.pid})
    assert (await speaker.wait_type("error"))["code"] == "FORBIDDEN"
    assert not other.closed.is_set()

    await host.send({"type": "mute_request", "participant_id": speaker.pid, "kind": "audio"})
    request = await speaker.wait_type("mute_request")
    assert (request["kind"], request["participant_id"]) == ("audio", host.pid)
    assert not other.of_type("mute_request")


async def test_a_role_change_applies_live(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1")
    await student.send({"type": "offer", "to": host.pid, "sdp": "v=0", "streams": {}})
    await host.wait_type("offer")

    await host.send({"type": "change_role", "participant_id": student.pid, "role": "viewer"})
    mine = await student.wait_type("role_changed", participant_id=student.pid)
    assert mine["role"] == "viewer" and mine["permissions"]["can_publish"] is False
    assert mine["access_token"]  # still valid for reconnecting after the change
    theirs = await host.wait_type("role_changed", participant_id=student.pid)
    assert "access_token" not in theirs

    student.received.clear()
    await student.send({"type": "offer", "to": host.pid, "sdp": "v=0 again", "streams": {}})
    assert (await student.wait_type("error"))["code"] == "FORBIDDEN"
    again = await classroom.open({**student.join, "access_token": mine["access_token"]})
    assert again.of_type("welcome")[0]["you"]["role"] == "viewer"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "BAD_JSON"),
        ("[1, 2]", "BAD_MESSAGE"),
        ('{"no": "type"}', "BAD_MESSAGE"),
        ('{"type": "teleport"}', "UNKNOWN_TYPE"),
        ('{"type": "chat", "text": ""}', "BAD_MESSAGE"),
        ('{"type": "chat", "text": 5}', "BAD_MESSAGE"),
        ('{"type": "offer", "to": "not-a-uuid", "sdp": "v=0"}', "BAD_MESSAGE"),
        ('{"type": "hand", "raised": "yes"}', "BAD_MESSAGE"),
        (
            '{"type": "candidate", "to": "00000000-0000-0000-0000-000000000001", "candidate": 3}',
            "BAD_MESSAGE",
        ),
        (
            '{"type": "change_role", "participant_id": "00000000-0000-0000-0000-000000000001",'
            ' "role": "emperor"}',
            "BAD_MESSAGE",
        ),
    ],
)
async def test_malformed_messages_get_an_error_and_the_socket_stays(
    classroom: Classroom, frame: str, code: str
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await host.ws.send(frame)
    assert (await host.wait_type("error"))["code"] == code
    await host.send({"type": "ping", "nonce": "alive"})
    await host.wait_type("pong", nonce="alive")


async def test_oversized_and_binary_frames_close_the_socket(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    limit = classroom.node.settings.ws_max_message_bytes
    await host.send({"type": "chat", "text": "x" * (limit + 1)})
    code, reason = await host.wait_closed()
    assert (code, reason.split(":")[0]) == (1009, "MESSAGE_TOO_BIG")

    again = await classroom.enter()
    await again.ws.send(b"\x00\x01")
    code, _ = await again.wait_closed()
    assert code == 4400


async def test_a_flooding_client_is_throttled_then_dropped_and_others_are_fine(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    flooder = await classroom.enter("student-1")
    settings = classroom.node.settings

    for n in range(settings.ws_burst * 4):
        if flooder.closed.is_set():
            break
        await flooder.send({"type": "chat", "text": f"spam {n}"})
    code, reason = await flooder.wait_closed()
    assert (code, reason.split(":")[0]) == (1008, "FLOODING")
    assert any(e["code"] == "RATE_LIMITED" for e in flooder.of_type("error"))
    # the room heard at most what the bucket let through
    await host.wait_type("peer_left", participant_id=flooder.pid)
    assert len(host.of_type("chat")) <= settings.ws_burst + 2
    await host.send({"type": "chat", "text": "still here"})
    await host.wait_type("chat", text="still here")
