"""LiveKit's webhooks at ``POST /api/v1/providers/livekit/webhook``: signed as LiveKit signs
them (livekit-api's token builder with the body's hash), verified, de-duplicated, tolerant
of out-of-order delivery; attendance and recordings follow them."""

from __future__ import annotations

import datetime
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from liveclass.config import Settings
from liveclass.control import expiry
from liveclass.db import attendance
from liveclass.db.tables import ATTENDANCE_INTERVALS, PROVIDER_EVENTS
from tests.api.helpers import join, live_session
from tests.api.livekit_support import deliver, participant_event, services_of
from tests.conftest import Platform
from tests.support.fake_livekit import FakeLiveKitServer

TEACHER = ("teacher-1", "teacher")
HOOK = "/api/v1/providers/livekit/webhook"


async def _stats(lk: httpx.AsyncClient, platform: Platform, sid: str) -> dict[str, Any]:
    r = await lk.get(f"/api/v1/sessions/{sid}/stats", headers=platform.auth(*TEACHER))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _seconds_of(stats: dict[str, Any], user_id: str) -> float:
    (row,) = [a for a in stats["attendance"] if a["user_id"] == user_id]
    seconds: float = row["total_seconds"]
    return seconds


async def _count(app: FastAPI, table: Any) -> int:
    async with services_of(app).db.reader() as r:
        return int(await r.value(select(func.count()).select_from(table)))


async def _seated(lk: httpx.AsyncClient, platform: Platform) -> tuple[str, str]:
    s = await live_session(lk, platform, provider="livekit")
    joined = (await join(lk, platform, s["id"], "student-1")).json()
    return s["id"], joined["participant_id"]


async def test_joined_then_left_gives_the_exact_attendance(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake, now = livekit_server.fake, int(time.time())
    joined = participant_event(fake, "participant_joined", sid, "student-1", "PA_1", now - 100)
    r = await deliver(lk, fake, joined)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "applied"
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 1
    left = participant_event(fake, "participant_left", sid, "student-1", "PA_1", now - 40)
    assert (await deliver(lk, fake, left)).status_code == 200
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 0
    assert _seconds_of(stats, "student-1") == 60.0


async def test_a_left_before_its_joined_leaves_nothing_open(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake, now = livekit_server.fake, int(time.time())
    left = participant_event(fake, "participant_left", sid, "student-1", "PA_1", now - 10)
    joined = participant_event(fake, "participant_joined", sid, "student-1", "PA_1", now - 70)
    assert (await deliver(lk, fake, left)).json()["outcome"] == "applied"
    assert (await deliver(lk, fake, joined)).json()["outcome"] == "applied"
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 0
    assert _seconds_of(stats, "student-1") == 60.0
    assert await _count(lk_app, ATTENDANCE_INTERVALS) == 1


async def test_a_redelivered_event_changes_nothing(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake, now = livekit_server.fake, int(time.time())
    left = participant_event(fake, "participant_left", sid, "student-1", "PA_1", now - 10)
    joined = participant_event(fake, "participant_joined", sid, "student-1", "PA_1", now - 70)
    await deliver(lk, fake, joined)
    await deliver(lk, fake, left)
    # a replay of the join (same id, freshly signed) must not reopen the span
    again = await deliver(lk, fake, joined)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 0
    assert _seconds_of(stats, "student-1") == 60.0
    assert await _count(lk_app, PROVIDER_EVENTS) == 2


async def test_someone_in_the_classroom_and_on_livekit_counts_once(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, pid = await _seated(lk, platform)
    fake, now = livekit_server.fake, int(time.time())
    at = datetime.datetime.fromtimestamp
    # liveclass's classroom socket, from -90 s to -30 s
    async with services_of(lk_app).db.transaction() as tx:
        for step, second in ((attendance.connected_at, -90), (attendance.disconnected_at, -30)):
            await step(
                tx,
                session_id=uuid.UUID(sid),
                participant_id=uuid.UUID(pid),
                connection_id="socket-1",
                node_id="node-a",
                at=at(now + second, datetime.UTC),
            )
    # and LiveKit, from -100 s, still connected
    joined = participant_event(fake, "participant_joined", sid, "student-1", "PA_1", now - 100)
    await deliver(lk, fake, joined)
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 1
    assert stats["current_participants"] == 1
    async with services_of(lk_app).db.reader() as r:
        # a LiveKit span is attendance, not a socket some node holds (the classroom's roster)
        assert await attendance.open_connections(r, session_id=uuid.UUID(sid)) == {}
        connected = await attendance.connected_participants(r, session_id=uuid.UUID(sid))
    assert connected == {uuid.UUID(pid)}
    left = participant_event(fake, "participant_left", sid, "student-1", "PA_1", now - 20)
    await deliver(lk, fake, left)
    stats = await _stats(lk, platform, sid)
    assert _seconds_of(stats, "student-1") == 80.0  # the union, not 60 + 80


async def test_room_finished_is_kept_and_closes_what_livekit_left_open(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake, now = livekit_server.fake, int(time.time())
    joined = participant_event(fake, "participant_joined", sid, "student-1", "PA_1", now - 50)
    await deliver(lk, fake, joined)
    finished = fake.webhook_event("room_finished", room={"sid": "RM_x", "name": sid})
    finished["created_at"] = now - 20
    assert (await deliver(lk, fake, finished)).json()["outcome"] == "applied"
    stats = await _stats(lk, platform, sid)
    assert stats["connected_participants"] == 0
    assert _seconds_of(stats, "student-1") == 30.0
    assert stats["status"] == "live"  # the class itself goes on (docs/api.md)
    async with services_of(lk_app).db.reader() as r:
        kept = await r.one(
            select(PROVIDER_EVENTS).where(PROVIDER_EVENTS.c.event_id == finished["id"])
        )
    assert kept is not None and kept["event"] == "room_finished" and kept["room"] == sid


async def test_a_join_for_someone_liveclass_never_seated_is_ignored(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake = livekit_server.fake
    stranger = participant_event(
        fake, "participant_joined", sid, "nobody", "PA_9", int(time.time())
    )
    assert (await deliver(lk, fake, stranger)).json()["outcome"] == "ignored"
    assert await _count(lk_app, ATTENDANCE_INTERVALS) == 0


# -- refused deliveries --------------------------------------------------------------------


async def test_forged_tampered_stale_and_unsigned_webhooks_are_401_and_change_nothing(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake = livekit_server.fake
    event = participant_event(
        fake, "participant_joined", sid, "student-1", "PA_1", int(time.time())
    )
    forged = await deliver(lk, fake, event, api_secret="another-secret-of-thirty-two-bytes!!")
    stale = await deliver(lk, fake, event, ttl=datetime.timedelta(minutes=-5))
    other_key = await deliver(lk, fake, event, api_key="APIsomeoneelse")
    signed = fake.sign_webhook(event)
    tampered = await lk.post(
        HOOK, content=signed.body.replace(b"student-1", b"student-2"), headers=signed.headers
    )
    unsigned = await lk.post(
        HOOK, content=signed.body, headers={"Content-Type": "application/webhook+json"}
    )
    for refused in (forged, stale, other_key, tampered, unsigned):
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "INVALID_WEBHOOK_SIGNATURE"
    assert await _count(lk_app, ATTENDANCE_INTERVALS) == 0
    assert await _count(lk_app, PROVIDER_EVENTS) == 0
    # the genuine delivery still works afterwards (nothing was remembered)
    assert (await deliver(lk, fake, event)).json()["outcome"] == "applied"


async def test_an_unknown_provider_is_404(lk: httpx.AsyncClient) -> None:
    r = await lk.post("/api/v1/providers/skype/webhook", content=b"{}")
    assert r.status_code == 404
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"


async def test_livekit_webhooks_are_404_where_livekit_is_not_configured(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(HOOK, content=b"{}", headers={"Authorization": "x"})
    assert r.status_code == 404
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"


# -- recordings ----------------------------------------------------------------------------


async def test_a_recording_goes_through_egress_to_a_downloadable_mp4(
    lk: httpx.AsyncClient,
    lk_settings: Settings,
    platform: Platform,
    livekit_server: FakeLiveKitServer,
) -> None:
    sid, _ = await _seated(lk, platform)
    fake = livekit_server.fake
    started = await lk.post(
        f"/api/v1/sessions/{sid}/recording/start", headers=platform.auth(*TEACHER)
    )
    assert started.status_code == 200, started.text
    rec = started.json()
    assert rec["state"] == "recording"
    assert rec["format"] == "mp4"
    (call,) = fake.calls_of("StartRoomCompositeEgress")
    (output,) = call.body["file_outputs"]
    target = Path(lk_settings.recordings_dir) / rec["id"] / "livekit.mp4"  # absolute (tmp)
    assert output["filepath"] == str(target)
    (egress_id,) = fake.egresses
    info = fake.activate_egress(egress_id)
    started_hook = fake.webhook_event("egress_started", egress_info=info)
    assert (await deliver(lk, fake, started_hook)).json()["outcome"] == "applied"

    stopped = await lk.post(
        f"/api/v1/sessions/{sid}/recording/stop", headers=platform.auth(*TEACHER)
    )
    assert stopped.json()["state"] == "processing"
    assert len(fake.calls_of("StopEgress")) == 1
    # the egress writes the file where it was told, then reports it
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"m" * 1000)
    ended = fake.webhook_event(
        "egress_ended", egress_info=fake.complete_egress(egress_id, size=1012)
    )
    assert (await deliver(lk, fake, ended)).json()["outcome"] == "applied"

    got = (await lk.get(f"/api/v1/recordings/{rec['id']}", headers=platform.auth(*TEACHER))).json()
    assert got["state"] == "ready"
    assert got["size_bytes"] == 1012
    download = await lk.get(got["download_url"], headers=platform.auth(*TEACHER))
    assert download.status_code == 200
    assert download.headers["content-type"] == "video/mp4"
    assert download.content == target.read_bytes()
    assert f"recording-{rec['id']}.mp4" in download.headers["content-disposition"]
    # a late redelivery of the end changes nothing
    assert (await deliver(lk, fake, ended)).json()["outcome"] == "duplicate"


async def test_an_egress_that_fails_fails_the_recording(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake = livekit_server.fake
    rec = (
        await lk.post(f"/api/v1/sessions/{sid}/recording/start", headers=platform.auth(*TEACHER))
    ).json()
    (egress_id,) = fake.egresses
    info = dict(fake.egresses[egress_id].info)
    info.update(status="EGRESS_FAILED", error="could not connect to the room")
    ended = fake.webhook_event("egress_ended", egress_info=info)
    assert (await deliver(lk, fake, ended)).json()["outcome"] == "applied"
    got = (await lk.get(f"/api/v1/recordings/{rec['id']}", headers=platform.auth(*TEACHER))).json()
    assert got["state"] == "failed"
    assert "could not connect to the room" in got["failure_reason"]


async def test_livekit_down_at_recording_start_fails_that_recording_and_a_new_one_works(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    livekit_server.fake.fail_next = 1  # LiveKit answers 503 once
    first = await lk.post(
        f"/api/v1/sessions/{sid}/recording/start", headers=platform.auth(*TEACHER)
    )
    assert first.status_code == 200
    assert first.json()["state"] == "failed"  # as any capture that cannot start
    assert "unavailable" in first.json()["failure_reason"]
    again = await lk.post(
        f"/api/v1/sessions/{sid}/recording/start", headers=platform.auth(*TEACHER)
    )
    assert again.json()["state"] == "recording"
    assert again.json()["id"] != first.json()["id"]


async def test_event_ids_are_forgotten_after_the_retention(
    lk: httpx.AsyncClient, lk_app: FastAPI, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    sid, _ = await _seated(lk, platform)
    fake = livekit_server.fake
    event = participant_event(fake, "participant_left", sid, "student-1", "PA_1", int(time.time()))
    await deliver(lk, fake, event)
    services = services_of(lk_app)
    assert await expiry.forget_provider_events(services) == 0  # still fresh
    async with services.db.transaction() as tx:
        old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=8)
        await tx.run(update(PROVIDER_EVENTS).values(received_at=old))
    assert await expiry.forget_provider_events(services) == 1
    assert await _count(lk_app, PROVIDER_EVENTS) == 0
