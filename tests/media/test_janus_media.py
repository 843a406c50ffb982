"""Real media through Janus with the credentials JanusBackend grants: aiortc peers
publish a synthetic camera, others decode it; Janus enforces roles, kicks and closes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from liveclass.domain.roles import Role
from liveclass.media.backend import MediaParticipant, MediaRoom, RoomSpec
from liveclass.media.janus import JanusBackend
from liveclass.media.janus_api import VideoRoomError
from tests.media.conftest import janus_backend_for
from tests.media.janus_peer import JanusSession, Publisher, Subscriber
from tests.media.janus_server import JanusServer

pytestmark = [pytest.mark.janus, pytest.mark.usefixtures("loopback_ice")]

SUBSCRIBERS = 3


def someone(role: Role) -> MediaParticipant:
    return MediaParticipant(uuid.uuid4(), f"u-{uuid.uuid4().hex[:6]}", f"A {role}", role)


@pytest.fixture
async def janus(janus_server: JanusServer) -> AsyncIterator[JanusBackend]:
    backend = janus_backend_for(janus_server)
    yield backend
    await backend.aclose()


@pytest.fixture
async def room(janus: JanusBackend) -> AsyncIterator[MediaRoom]:
    spec = RoomSpec(uuid.uuid4(), "Physics", max_participants=30, max_publishers=2)
    opened = await janus.open_room(spec)
    yield opened
    await janus.close_room(opened)


@pytest.fixture
async def peers() -> AsyncIterator[list[Publisher | Subscriber]]:
    """Every peer a test makes, closed at the end whatever happened."""
    made: list[Publisher | Subscriber] = []
    yield made
    await asyncio.gather(*(peer.close() for peer in made), return_exceptions=True)


async def publishing(
    janus: JanusBackend, room: MediaRoom, who: MediaParticipant, peers: list[Any]
) -> Publisher:
    publisher = Publisher(await janus.grant(room, who))
    peers.append(publisher)
    await publisher.join()
    await publisher.publish()
    return publisher


async def watching(janus: JanusBackend, room: MediaRoom, feed: int, peers: list[Any]) -> Subscriber:
    subscriber = Subscriber(await janus.grant(room, someone(Role.VIEWER)))
    peers.append(subscriber)
    await subscriber.subscribe(feed)
    return subscriber


async def feeds_in(janus_server: JanusServer, room: MediaRoom) -> set[int]:
    """Who is in the room, as seen by a plain Janus client."""
    session = JanusSession(janus_server.url, janus_server.api_secret)
    await session.open()
    try:
        handle = await session.attach()
        data, _ = await session.message(
            handle, {"request": "listparticipants", "room": room.data["room"]}
        )
    finally:
        await session.close()
    return {int(p["id"]) for p in data["participants"]}


def is_kick_or_hangup(event: dict[str, Any]) -> bool:
    data = event.get("plugindata", {}).get("data", {})
    return event.get("janus") == "hangup" or "kicked" in data or data.get("leaving") == "ok"


async def test_subscribers_decode_the_teachers_video(
    janus: JanusBackend, room: MediaRoom, peers: list[Any]
) -> None:
    teacher = await publishing(janus, room, someone(Role.HOST), peers)
    feed = teacher.grant["feed_id"]
    students = [await watching(janus, room, feed, peers) for _ in range(SUBSCRIBERS)]
    decoded = await asyncio.gather(*(s.wait_for_frames(10) for s in students))
    assert all(count >= 10 for count in decoded), decoded


async def test_a_viewer_promoted_to_speaker_publishes_and_is_decoded(
    janus: JanusBackend, room: MediaRoom, peers: list[Any]
) -> None:
    student = someone(Role.VIEWER)
    refused = Publisher(await janus.grant(room, student))
    peers.append(refused)
    with pytest.raises(VideoRoomError) as denied:
        await refused.join()
    assert denied.value.code == 433

    promoted = replace(student, role=Role.SPEAKER)
    await janus.apply_role(room, promoted)
    speaker = await publishing(janus, room, promoted, peers)
    classmate = await watching(janus, room, speaker.grant["feed_id"], peers)
    assert await classmate.wait_for_frames(10) >= 10


async def test_a_viewer_who_tries_to_publish_is_refused_by_janus(
    janus: JanusBackend, room: MediaRoom, peers: list[Any], janus_server: JanusServer
) -> None:
    teacher = await publishing(janus, room, someone(Role.HOST), peers)
    viewer = Publisher(await janus.grant(room, someone(Role.VIEWER)))
    peers.append(viewer)
    # with no token, and with the teacher's feed id, Janus says no either way
    for feed in (None, teacher.grant["feed_id"] + 1):
        with pytest.raises(VideoRoomError) as denied:
            await viewer.join(feed_id=feed)
        assert denied.value.code == 433
    assert await feeds_in(janus_server, room) == {teacher.grant["feed_id"]}


async def test_a_demoted_speaker_is_unpublished_and_cannot_publish_again(
    janus: JanusBackend, room: MediaRoom, peers: list[Any], janus_server: JanusServer
) -> None:
    student = someone(Role.SPEAKER)
    speaker = await publishing(janus, room, student, peers)
    classmate = await watching(janus, room, speaker.grant["feed_id"], peers)
    assert await classmate.wait_for_frames(5) >= 5

    await janus.apply_role(room, replace(student, role=Role.VIEWER))
    await speaker.session.next_event(is_kick_or_hangup)
    assert speaker.grant["feed_id"] not in await feeds_in(janus_server, room)
    again = Publisher(speaker.grant)  # the old grant, token and all
    peers.append(again)
    with pytest.raises(VideoRoomError) as denied:
        await again.join()
    assert denied.value.code == 433


async def test_kick_drops_the_publisher_at_once(
    janus: JanusBackend, room: MediaRoom, peers: list[Any], janus_server: JanusServer
) -> None:
    student = someone(Role.SPEAKER)
    speaker = await publishing(janus, room, student, peers)
    assert speaker.grant["feed_id"] in await feeds_in(janus_server, room)

    await janus.remove_participant(room, student)
    await speaker.session.next_event(is_kick_or_hangup)
    assert speaker.grant["feed_id"] not in await feeds_in(janus_server, room)
    again = Publisher(speaker.grant)
    peers.append(again)
    with pytest.raises(VideoRoomError):
        await again.join()


async def test_closing_the_room_destroys_it_for_everyone_in_it(
    janus: JanusBackend, peers: list[Any]
) -> None:
    spec = RoomSpec(uuid.uuid4(), "Chemistry", max_participants=30, max_publishers=2)
    room = await janus.open_room(spec)
    teacher = await publishing(janus, room, someone(Role.HOST), peers)
    student = await watching(janus, room, teacher.grant["feed_id"], peers)
    assert await student.wait_for_frames(3) >= 3

    await janus.close_room(room)

    def destroyed(event: dict[str, Any]) -> bool:
        return bool(event.get("plugindata", {}).get("data", {}).get("videoroom") == "destroyed")

    await teacher.session.next_event(destroyed)
    late = Publisher(teacher.grant)
    peers.append(late)
    with pytest.raises(VideoRoomError) as gone:
        await late.join()
    assert gone.value.code == 426


async def test_recording_writes_janus_files_for_the_publisher(
    janus: JanusBackend, room: MediaRoom, peers: list[Any], tmp_path: Path
) -> None:
    teacher = await publishing(janus, room, someone(Role.HOST), peers)
    student = await watching(janus, room, teacher.grant["feed_id"], peers)
    assert await student.wait_for_frames(3) >= 3
    assert await janus.start_recording(room, tmp_path) is True
    frames = student.frames_decoded
    assert await student.wait_for_frames(frames + 40) >= frames + 40  # ~2 s of video
    await janus.stop_recording(room)
    sizes = recorded_video_sizes(tmp_path)
    assert sizes, "Janus wrote no *-video-*.mjr file"
    assert all(size > 0 for size in sizes)


def recorded_video_sizes(directory: Path) -> list[int]:
    return [path.stat().st_size for path in directory.glob("*-video-*.mjr")]
