"""Reactions, the hand queue, lock settings, private chat and the timer over real sockets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.realtime.conftest import Classroom, Peer


async def _error(peer: Peer, message: dict[str, Any]) -> dict[str, Any]:
    peer.received.clear()
    await peer.send(message)
    return await peer.wait_type("error")


async def _class(classroom: Classroom, *students: str) -> tuple[Peer, list[Peer]]:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    return host, [await classroom.enter(f"student-{s}", s) for s in students]


# -- reactions ---------------------------------------------------------------------------------


async def test_reactions_reach_everyone_and_bursts_are_refused(classroom: Classroom) -> None:
    host, (ada, bob) = await _class(classroom, "Ada", "Bob")
    await ada.send({"type": "reaction", "emoji": "👏"})
    got = await bob.wait_type("reaction")
    assert (got["participant_id"], got["emoji"]) == (ada.pid, "👏") and got["sent_at"]
    await host.wait_type("reaction", participant_id=ada.pid)

    unknown = await _error(ada, {"type": "reaction", "emoji": "💩"})
    assert (unknown["code"], unknown["about"]) == ("BAD_MESSAGE", "reaction")
    ada.received.clear()
    for _ in range(8):  # the burst is five; one a second refills it
        await ada.send({"type": "reaction", "emoji": "🎉"})
    limited = await ada.wait_type("error")
    assert limited["code"] == "RATE_LIMITED"
    assert not ada.closed.is_set()  # refused, not disconnected
    await ada.send({"type": "ping", "nonce": "after"})
    await ada.wait_type("pong", nonce="after")
    assert len([m for m in bob.of_type("reaction") if m["emoji"] == "🎉"]) < 8


# -- the hand queue ----------------------------------------------------------------------------


async def test_hands_queue_in_raise_order_and_moderators_lower_them(
    classroom: Classroom,
) -> None:
    host, (ada, bob, cy) = await _class(classroom, "Ada", "Bob", "Cy")
    for peer in (bob, ada, cy):
        await peer.send({"type": "hand", "raised": True})
        await host.wait_type("hand", participant_id=peer.pid, raised=True)
    last = host.of_type("hand")[-1]
    assert last["queue"] == [bob.pid, ada.pid, cy.pid] and last["raised_at"]

    refused = await _error(ada, {"type": "hand", "raised": False, "participant_id": bob.pid})
    assert refused["code"] == "FORBIDDEN"
    await host.send({"type": "hand", "raised": False, "participant_id": bob.pid})
    lowered = await ada.wait_type("hand", participant_id=bob.pid, raised=False)
    assert lowered["queue"] == [ada.pid, cy.pid] and lowered["raised_at"] is None

    late = await classroom.enter("student-Dee", "Dee")
    welcome = late.of_type("welcome")[0]
    assert welcome["hands"] == [ada.pid, cy.pid]
    assert {p["participant_id"]: p["hand"] for p in welcome["peers"]}[ada.pid] is True

    assert (await _error(ada, {"type": "lower_all_hands"}))["code"] == "FORBIDDEN"
    await host.send({"type": "lower_all_hands"})
    cleared = await late.wait_type("hands_cleared")
    assert cleared["queue"] == []
    later = await classroom.enter("student-Eve", "Eve")
    assert later.of_type("welcome")[0]["hands"] == []


async def test_a_removed_participant_leaves_the_hand_queue(classroom: Classroom) -> None:
    host, (ada, bob) = await _class(classroom, "Ada", "Bob")
    for peer in (ada, bob):
        await peer.send({"type": "hand", "raised": True})
        await host.wait_type("hand", participant_id=peer.pid, raised=True)
    kicked = await classroom.api.post(
        f"/api/v1/sessions/{classroom.session_id}/participants/{ada.pid}/kick",
        headers=classroom._auth(),
    )
    assert kicked.status_code == 200, kicked.text
    lowered = await bob.wait_type("hand", participant_id=ada.pid, raised=False)
    assert lowered["queue"] == [bob.pid]


# -- locks -------------------------------------------------------------------------------------


async def test_locks_are_enforced_on_students_only(classroom: Classroom) -> None:
    host, (ada, co) = await _class(classroom, "Ada", "Co")
    await host.send({"type": "change_role", "participant_id": co.pid, "role": "co_host"})
    await co.wait_type("role_changed", participant_id=co.pid)

    assert (await _error(ada, {"type": "set_locks", "locks": {"student_chat": True}}))[
        "code"
    ] == "FORBIDDEN"
    await host.send({"type": "set_locks", "locks": {"student_chat": True, "student_camera": True}})
    locks = (await ada.wait_type("locks"))["locks"]
    assert locks == {
        "student_unmute": False,
        "student_camera": True,
        "student_screen": False,
        "student_chat": True,
        "student_private_chat": False,
    }

    assert (await _error(ada, {"type": "chat", "text": "hello?"}))["code"] == "LOCKED"
    camera = {"type": "media_state", "audio": True, "video": True, "screen": False}
    assert (await _error(ada, camera))["code"] == "LOCKED"
    await ada.send({"type": "media_state", "audio": True, "video": False, "screen": False})
    await host.wait_type("media_state", participant_id=ada.pid, audio=True)
    await co.send({"type": "chat", "text": "co-hosts still talk"})  # never locked
    await ada.wait_type("chat", text="co-hosts still talk")
    await co.send(camera)
    await host.wait_type("media_state", participant_id=co.pid, video=True)
    assert not [m for m in host.of_type("chat") if m["participant_id"] == ada.pid]

    await host.send({"type": "set_locks", "locks": {"student_screen": True}})
    await ada.wait_for(lambda m: m.get("type") == "locks" and m["locks"]["student_screen"])
    offer = {"type": "offer", "to": host.pid, "sdp": "v=0", "streams": {"s1": "screen"}}
    assert (await _error(ada, offer))["code"] == "LOCKED"
    share = {"type": "media_state", "audio": False, "video": False, "screen": True}
    assert (await _error(ada, share))["code"] == "LOCKED"
    bad = await _error(host, {"type": "set_locks", "locks": {"student_dance": True}})
    assert bad["code"] == "BAD_MESSAGE"

    late = await classroom.enter("student-Late", "Late")
    assert late.of_type("welcome")[0]["locks"] == {**locks, "student_screen": True}


async def test_mute_all_asks_every_student_publisher(classroom: Classroom) -> None:
    host, (ada, bob) = await _class(classroom, "Ada", "Bob")
    await ada.send({"type": "media_state", "audio": True, "video": False, "screen": False})
    await host.wait_type("media_state", participant_id=ada.pid, audio=True)
    await host.send({"type": "mute_all"})
    for student in (ada, bob):
        request = await student.wait_type("mute_request")
        assert (request["kind"], request["participant_id"]) == ("audio", host.pid)
    # the server shows Ada's microphone off at once
    await bob.wait_type("media_state", participant_id=ada.pid, audio=False)
    assert not host.of_type("mute_request")
    assert (await _error(ada, {"type": "mute_all"}))["code"] == "FORBIDDEN"


# -- private chat ------------------------------------------------------------------------------


async def test_private_chat_reaches_only_its_receiver(classroom: Classroom) -> None:
    host, (ada, bob, cy) = await _class(classroom, "Ada", "Bob", "Cy")
    await ada.send({"type": "private_chat", "to": bob.pid, "text": " psst "})
    got = await bob.wait_type("private_chat")
    assert (got["from"], got["to"], got["name"], got["text"]) == (ada.pid, bob.pid, "Ada", "psst")
    echo = await ada.wait_type("private_chat")
    assert echo["id"] == got["id"]

    await ada.send({"type": "private_chat", "to": host.pid, "text": "a question"})
    await host.wait_type("private_chat", text="a question")
    await host.send({"type": "private_chat", "to": cy.pid, "text": "an answer"})
    await cy.wait_type("private_chat", text="an answer")
    await cy.send({"type": "ping", "nonce": "sync"})
    await cy.wait_type("pong")
    assert [m["text"] for m in cy.of_type("private_chat")] == ["an answer"]
    assert [m["text"] for m in host.of_type("private_chat")] == ["a question", "an answer"]

    await host.send({"type": "set_locks", "locks": {"student_private_chat": True}})
    await ada.wait_type("locks")
    locked = await _error(ada, {"type": "private_chat", "to": bob.pid, "text": "again"})
    assert locked["code"] == "LOCKED"
    await ada.send({"type": "private_chat", "to": host.pid, "text": "to the host is fine"})
    await host.wait_type("private_chat", text="to the host is fine")

    absent = await _error(ada, {"type": "private_chat", "to": classroom.session_id, "text": "x"})
    assert absent["code"] == "NOT_IN_SESSION"
    await bob.send({"type": "ping", "nonce": "end"})
    await bob.wait_type("pong", nonce="end")
    assert [m["text"] for m in bob.of_type("private_chat")] == ["psst"]


# -- the timer ---------------------------------------------------------------------------------


async def test_the_timer_runs_pauses_resumes_stops_and_greets_late_joiners(
    classroom: Classroom,
) -> None:
    host, (ada,) = await _class(classroom, "Ada")
    assert (await _error(ada, {"type": "timer_start", "seconds": 60}))["code"] == "FORBIDDEN"
    bad = await _error(host, {"type": "timer_start", "seconds": 0})
    assert bad["code"] == "BAD_MESSAGE"
    assert (await _error(host, {"type": "timer_pause"}))["code"] == "INVALID_STATE"

    await host.send({"type": "timer_start", "seconds": 300, "label": "Exercise 1"})
    running = await ada.wait_type("timer", state="running")
    assert (running["duration_seconds"], running["label"]) == (300, "Exercise 1")
    left = datetime.fromisoformat(running["ends_at"]) - datetime.now(UTC)
    assert 0 < left.total_seconds() <= 300
    late = await classroom.enter("student-Late", "Late")
    greeted = late.of_type("welcome")[0]["timer"]
    assert greeted["state"] == "running" and 0 < greeted["remaining_seconds"] <= 300

    await host.send({"type": "timer_pause"})
    paused = await ada.wait_type("timer", state="paused")
    assert paused["ends_at"] is None and 0 < paused["remaining_seconds"] <= 300
    later = await classroom.enter("student-Later", "Later")
    assert later.of_type("welcome")[0]["timer"]["remaining_seconds"] == paused["remaining_seconds"]

    ada.received.clear()
    await host.send({"type": "timer_resume"})
    resumed = await ada.wait_type("timer", state="running")
    assert resumed["remaining_seconds"] <= paused["remaining_seconds"]
    await host.send({"type": "timer_stop"})
    await ada.wait_type("timer", state="stopped")
    last = await classroom.enter("student-Last", "Last")
    assert last.of_type("welcome")[0]["timer"]["state"] == "stopped"
