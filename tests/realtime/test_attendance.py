"""The socket is attendance; kicks, ends and admissions reach the sockets at once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from liveclass.db.database import Database
from liveclass.db.tables import ATTENDANCE_INTERVALS
from tests.realtime.conftest import Classroom, eventually


async def _intervals(classroom: Classroom, pid: str) -> list[tuple[datetime, datetime | None]]:
    db = Database(classroom.node.settings.database_url)
    try:
        async with db.transaction() as tx:
            rows = await tx.all(
                select(ATTENDANCE_INTERVALS.c.started_at, ATTENDANCE_INTERVALS.c.ended_at)
                .where(ATTENDANCE_INTERVALS.c.participant_id == uuid.UUID(pid))
                .order_by(ATTENDANCE_INTERVALS.c.started_at)
            )
            return [(row["started_at"], row["ended_at"]) for row in rows]
    finally:
        await db.close()


async def test_each_connection_is_one_interval_also_across_reconnects(
    classroom: Classroom,
) -> None:
    await classroom.create()
    joined = await classroom.join()
    first = await classroom.open(joined)
    assert [end for _, end in await _intervals(classroom, first.pid)] == [None]
    await first.close()

    async def closed_once() -> bool:
        return [end is not None for _, end in await _intervals(classroom, first.pid)] == [True]

    await eventually(closed_once)
    second = await classroom.open(joined)
    spans = await _intervals(classroom, second.pid)
    assert len(spans) == 2 and spans[1][1] is None
    first_end = spans[0][1]
    assert first_end is not None and spans[0][0] < first_end <= spans[1][0]
    await second.close()

    async def both_closed() -> bool:
        return all(end is not None for _, end in await _intervals(classroom, second.pid))

    await eventually(both_closed)


async def test_kick_over_rest_closes_the_socket_and_the_interval(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1")

    r = await classroom.api.post(
        f"/api/v1/sessions/{classroom.session_id}/participants/{student.pid}/kick",
        headers={"Authorization": f"Bearer {classroom.host_token}"},
    )
    assert r.status_code == 200, r.text
    code, reason = await student.wait_closed()
    assert (code, reason.split(":")[0]) == (4403, "KICKED")
    await host.wait_type("peer_left", participant_id=student.pid)
    assert all(end is not None for _, end in await _intervals(classroom, student.pid))

    # the old token cannot get back in
    again = await classroom.open(student.join, welcome=False)
    code, reason = await again.wait_closed()
    assert (code, reason.split(":")[0]) == (4403, "KICKED")


async def test_kick_from_the_host_socket(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1")
    await host.send({"type": "kick", "participant_id": student.pid})
    code, _ = await student.wait_closed()
    assert code == 4403


async def test_ending_sends_session_ended_and_closes_everyone(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    students = [await classroom.enter(f"student-{n}") for n in range(3)]

    await host.send({"type": "end_session"})
    for peer in [host, *students]:
        ended = await peer.wait_type("session_ended")
        assert ended["reason"]
        code, _ = await peer.wait_closed()
        assert code == 4410
    for peer in [host, *students]:
        assert all(end is not None for _, end in await _intervals(classroom, peer.pid))
    late = await classroom.open(host.join, welcome=False)
    code, reason = await late.wait_closed()
    assert (code, reason.split(":")[0]) == (4410, "SESSION_ENDED")


async def test_ending_over_rest_closes_everyone(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1")
    await classroom.end()
    for peer in (host, student):
        await peer.wait_type("session_ended")
        assert (await peer.wait_closed())[0] == 4410


async def test_waiting_room_admission_over_the_socket(classroom: Classroom) -> None:
    await classroom.create(waiting_room=True)
    host = await classroom.enter()
    await classroom.start()
    joined = await classroom.join("student-1", "Wanda")
    assert joined["status"] == "waiting"
    waiting = await classroom.open(joined)
    assert waiting.of_type("welcome")[0]["you"]["status"] == "waiting"
    assert waiting.of_type("welcome")[0]["peers"] == []
    notice = await host.wait_type("waiting")
    assert (notice["participant_id"], notice["name"]) == (waiting.pid, "Wanda")
    assert await _intervals(classroom, waiting.pid) == []
    await waiting.send({"type": "chat", "text": "let me in"})
    assert (await waiting.wait_type("error"))["code"] == "WAITING"

    await host.send({"type": "admit", "participant_id": waiting.pid, "admit": True})
    await waiting.wait_type("admitted")
    welcome = await waiting.wait_for(
        lambda m: m.get("type") == "welcome" and m["you"]["status"] == "joined"
    )
    assert [p["participant_id"] for p in welcome["peers"]] == [host.pid]
    await host.wait_type("peer_joined")
    assert len(await _intervals(classroom, waiting.pid)) == 1


async def test_a_denied_guest_is_closed(classroom: Classroom) -> None:
    await classroom.create(waiting_room=True)
    host = await classroom.enter()
    await classroom.start()
    waiting = await classroom.open(await classroom.join("student-1", "Wanda"))
    await host.wait_type("waiting")
    await host.send({"type": "admit", "participant_id": waiting.pid, "admit": False})
    code, _ = await waiting.wait_closed()
    assert code == 4403


async def test_leaving_from_the_socket_marks_the_participant_as_left(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    student = await classroom.enter("student-1")

    await student.send({"type": "leave"})

    code, reason = await student.wait_closed()
    assert (code, reason.split(":")[0]) == (4403, "LEFT")
    await host.wait_type("peer_left", participant_id=student.pid)
    listed = await classroom.api.get(
        f"/api/v1/sessions/{classroom.session_id}/participants",
        headers={"Authorization": f"Bearer {classroom.host_token}"},
    )
    assert listed.status_code == 200, listed.text
    statuses = {p["id"]: p["status"] for p in listed.json()["items"]}
    assert statuses[student.pid] == "left"
