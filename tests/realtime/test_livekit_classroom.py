"""The classroom socket of a LiveKit session: moderation reaches LiveKit too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liveclass.config import Settings
from tests.conftest import make_settings
from tests.realtime.conftest import Classroom, eventually
from tests.support.fake_livekit import FakeLiveKitServer, serve_fake_livekit
from tests.support.servers import free_port

KEY = "APIclassroom"
SECRET = "classroom-secret-of-at-least-thirty-two-bytes"


@pytest.fixture
def livekit_server() -> Iterator[FakeLiveKitServer]:
    with serve_fake_livekit(KEY, SECRET) as server:
        yield server


@pytest.fixture
def node_settings(database_url: str, livekit_server: FakeLiveKitServer) -> Settings:
    port = free_port()
    return make_settings(
        database_url,
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        livekit_url=livekit_server.url.replace("http://", "ws://"),
        livekit_api_key=KEY,
        livekit_api_secret=SECRET,
    )


async def test_a_mute_request_also_mutes_the_track_on_livekit(
    classroom: Classroom, livekit_server: FakeLiveKitServer
) -> None:
    await classroom.create(provider="livekit")
    await classroom.start()
    host = await classroom.enter()
    joined = await classroom.join("student-1")
    speaker = await classroom.open(joined)
    livekit_server.fake.connect(joined["media"]["access_token"], sources=("microphone",))

    await host.send({"type": "mute_request", "participant_id": speaker.pid, "kind": "audio"})
    await speaker.wait_type("mute_request")  # their browser is asked, as before

    async def muted() -> bool:
        room = livekit_server.fake.rooms[classroom.session_id]
        (track,) = room.participants["student-1"]["tracks"]
        return bool(track["muted"])

    await eventually(muted)
    assert not host.of_type("error")


async def test_a_co_host_asking_the_host_to_mute_does_not_mute_them_on_livekit(
    classroom: Classroom, livekit_server: FakeLiveKitServer
) -> None:
    await classroom.create(provider="livekit")
    await classroom.start()
    host_join = await classroom.join()
    host = await classroom.open(host_join)
    livekit_server.fake.connect(host_join["media"]["access_token"], sources=("microphone",))
    co_host = await classroom.enter("student-1")
    await host.send({"type": "change_role", "participant_id": co_host.pid, "role": "co_host"})
    await co_host.wait_type("role_changed")

    await co_host.send({"type": "mute_request", "participant_id": host.pid, "kind": "audio"})
    await host.wait_type("mute_request")
    # the socket handles one message after the other: once the ping is answered, the
    # mute request has been handled completely
    await co_host.send({"type": "ping", "nonce": "after-mute"})
    await co_host.wait_type("pong", nonce="after-mute")
    assert livekit_server.fake.calls_of("MutePublishedTrack") == []
    (track,) = livekit_server.fake.rooms[classroom.session_id].participants["teacher-1"]["tracks"]
    assert track["muted"] is False
    assert not co_host.of_type("error")
