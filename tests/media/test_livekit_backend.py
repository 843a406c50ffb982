"""LiveKitBackend against a server implementing LiveKit's documented Twirp API: tokens
checked with livekit-api's own ``TokenVerifier``, every call as the server recorded it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from livekit.api import TokenVerifier

from liveclass.domain.errors import Unavailable
from liveclass.domain.roles import Role
from liveclass.media.backend import MediaParticipant, RoomSpec
from liveclass.media.livekit import EgressTarget, LiveKitBackend
from liveclass.media.livekit_api import LiveKitClient, S3Upload
from tests.media.conftest import LIVEKIT_KEY, LIVEKIT_SECRET, livekit_backend_for
from tests.support.fake_livekit import FakeLiveKitServer


@pytest.fixture
async def livekit(fake_livekit: FakeLiveKitServer, tmp_path: Path) -> AsyncIterator[LiveKitBackend]:
    backend = livekit_backend_for(fake_livekit, tmp_path)
    yield backend
    await backend.aclose()


def a_spec(max_participants: int = 31) -> RoomSpec:
    return RoomSpec(
        session_id=uuid.uuid4(),
        title="Physics",
        max_participants=max_participants,
        max_publishers=31,
    )


def someone(role: Role, user_id: str = "user-42") -> MediaParticipant:
    return MediaParticipant(
        participant_id=uuid.uuid4(), user_id=user_id, name=f"A {role.value}", role=role
    )


def verified(token: str) -> dict[str, object]:
    claims = TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(token)
    video = claims.video
    assert video is not None
    return {
        "identity": claims.identity,
        "name": claims.name,
        "metadata": json.loads(claims.metadata),
        "room_join": video.room_join,
        "room": video.room,
        "can_publish": video.can_publish,
        "sources": sorted(video.can_publish_sources or []),
        "can_subscribe": video.can_subscribe,
        "can_publish_data": video.can_publish_data,
        "room_admin": bool(video.room_admin),
        "room_record": bool(video.room_record),
    }


async def test_open_room_creates_it_with_the_class_limits(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    spec = a_spec(max_participants=31)
    room = await livekit.open_room(spec)
    (call,) = fake_livekit.fake.calls_of("CreateRoom")
    assert call.body["name"] == str(spec.session_id) == room.data["room"]
    assert call.body["max_participants"] == 31
    assert call.body["empty_timeout"] == 600
    assert call.claims["video"] == {"roomCreate": True}  # only the grant the call needs


EVERY_SOURCE = ["camera", "microphone", "screen_share", "screen_share_audio"]


@pytest.mark.parametrize(
    ("role", "publish", "sources", "admin", "record"),
    [
        (Role.HOST, True, EVERY_SOURCE, True, True),
        (Role.CO_HOST, True, EVERY_SOURCE, True, False),
        (Role.SPEAKER, True, EVERY_SOURCE, False, False),
        (Role.VIEWER, False, [], False, False),
    ],
)
async def test_a_grant_carries_exactly_the_permission_table(
    livekit: LiveKitBackend,
    role: Role,
    publish: bool,
    sources: list[str],
    admin: bool,
    record: bool,
) -> None:
    room = await livekit.open_room(a_spec())
    who = someone(role)
    grant = await livekit.grant(room, who)
    assert grant["provider"] == "livekit"
    assert grant["server_url"] == livekit.client_url
    assert grant["token"] == grant["access_token"]
    claims = verified(grant["access_token"])
    assert claims == {
        "identity": "user-42",
        "name": f"A {role.value}",
        "metadata": {"role": role.value, "participant_id": str(who.participant_id)},
        "room_join": True,
        "room": room.data["room"],
        "can_publish": publish,
        "sources": sources,
        "can_subscribe": True,
        "can_publish_data": True,
        "room_admin": admin,
        "room_record": record,
    }


async def test_a_token_is_short_lived(livekit: LiveKitBackend) -> None:
    room = await livekit.open_room(a_spec())
    grant = await livekit.grant(room, someone(Role.SPEAKER))
    TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(grant["access_token"])
    raw = jwt.decode(grant["access_token"], options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == 600


async def test_a_viewer_cannot_publish_on_livekit_a_speaker_can(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    room = await livekit.open_room(a_spec())
    viewer = await livekit.grant(room, someone(Role.VIEWER, "viewer-1"))
    with pytest.raises(PermissionError):
        fake_livekit.fake.connect(viewer["access_token"], sources=("camera",))
    speaker = await livekit.grant(room, someone(Role.SPEAKER, "speaker-1"))
    joined = fake_livekit.fake.connect(
        speaker["access_token"], sources=("camera", "microphone", "screen_share")
    )
    assert len(joined["tracks"]) == 3


async def test_a_demotion_updates_the_connected_participant_live(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    room = await livekit.open_room(a_spec())
    speaker = someone(Role.SPEAKER, "speaker-1")
    grant = await livekit.grant(room, speaker)
    fake_livekit.fake.connect(grant["access_token"], sources=("camera", "microphone"))
    await livekit.apply_role(room, replace(speaker, role=Role.VIEWER))
    (call,) = fake_livekit.fake.calls_of("UpdateParticipant")
    assert call.body["identity"] == "speaker-1"
    assert call.body["permission"].get("can_publish", False) is False
    assert call.body["permission"]["can_subscribe"] is True
    assert json.loads(call.body["metadata"])["role"] == "viewer"
    participant = fake_livekit.fake.rooms[room.data["room"]].participants["speaker-1"]
    assert participant["tracks"] == []  # LiveKit unpublished what viewers may not send


async def test_a_kick_disconnects_at_once(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    room = await livekit.open_room(a_spec())
    student = someone(Role.SPEAKER, "student-1")
    grant = await livekit.grant(room, student)
    fake_livekit.fake.connect(grant["access_token"])
    await livekit.remove_participant(room, student)
    assert "student-1" not in fake_livekit.fake.rooms[room.data["room"]].participants
    (call,) = fake_livekit.fake.calls_of("RemoveParticipant")
    assert call.body == {"room": room.data["room"], "identity": "student-1"}


async def test_a_mute_request_mutes_the_published_microphone_only(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    room = await livekit.open_room(a_spec())
    student = someone(Role.SPEAKER, "student-1")
    grant = await livekit.grant(room, student)
    fake_livekit.fake.connect(grant["access_token"], sources=("camera", "microphone"))
    await livekit.mute(room, student, "audio")
    tracks = fake_livekit.fake.rooms[room.data["room"]].participants["student-1"]["tracks"]
    muted = {track["source"]: track["muted"] for track in tracks}
    assert muted == {"MICROPHONE": True, "CAMERA": False}
    (call,) = fake_livekit.fake.calls_of("MutePublishedTrack")
    assert call.body["muted"] is True


async def test_close_room_deletes_it(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    room = await livekit.open_room(a_spec())
    await livekit.close_room(room)
    assert room.data["room"] not in fake_livekit.fake.rooms
    assert len(fake_livekit.fake.calls_of("DeleteRoom")) == 1


async def test_recording_is_a_room_composite_egress_into_the_file_for_the_key(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer, tmp_path: Path
) -> None:
    room = await livekit.open_room(a_spec())
    assert await livekit.start_recording(room, tmp_path / "unused", key="rec-9/livekit.mp4")
    (call,) = fake_livekit.fake.calls_of("StartRoomCompositeEgress")
    assert call.body["room_name"] == room.data["room"]
    assert call.body["layout"] == "grid"
    (output,) = call.body["file_outputs"]
    assert output["file_type"] == "MP4"
    assert output["filepath"] == str(tmp_path / "rec-9" / "livekit.mp4")
    assert call.claims["video"] == {"roomRecord": True}
    await livekit.stop_recording(room)
    (stop,) = fake_livekit.fake.calls_of("StopEgress")
    egress = fake_livekit.fake.egresses[stop.body["egress_id"]]
    assert egress.info["status"] == "EGRESS_ENDING"
    await livekit.stop_recording(room)  # nothing active any more: no second StopEgress
    assert len(fake_livekit.fake.calls_of("StopEgress")) == 1


async def test_with_s3_storage_the_egress_uploads_to_the_bucket_under_the_prefix(
    fake_livekit: FakeLiveKitServer,
) -> None:
    client = LiveKitClient(fake_livekit.url, api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET)
    target = EgressTarget(
        s3=S3Upload(bucket="classes", region="eu-west-1", access_key="AK", secret="SK"),
        prefix="liveclass",
    )
    backend = LiveKitBackend(
        client_url="ws://127.0.0.1:1",
        client=client,
        api_key=LIVEKIT_KEY,
        api_secret=LIVEKIT_SECRET,
        egress=target,
    )
    try:
        room = await backend.open_room(a_spec())
        await backend.start_recording(room, Path("/nowhere"), key="rec-1/livekit.mp4")
    finally:
        await backend.aclose()
    (output,) = fake_livekit.fake.calls_of("StartRoomCompositeEgress")[0].body["file_outputs"]
    assert output["filepath"] == "liveclass/rec-1/livekit.mp4"
    assert output["s3"]["bucket"] == "classes"
    assert output["s3"]["region"] == "eu-west-1"
    assert output["s3"]["access_key"] == "AK"


async def test_livekit_down_is_media_unavailable_and_a_retry_works(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer
) -> None:
    spec = a_spec()
    fake_livekit.stop()
    with pytest.raises(Unavailable) as down:
        await livekit.open_room(spec)
    assert down.value.code == "MEDIA_UNAVAILABLE"
    fake_livekit.start()
    room = await livekit.open_room(spec)
    assert room.data["room"] in fake_livekit.fake.rooms


@pytest.mark.parametrize("code", ["unavailable", "permission_denied", "invalid_argument"])
async def test_livekit_refusing_is_media_unavailable(
    livekit: LiveKitBackend, fake_livekit: FakeLiveKitServer, code: str
) -> None:
    fake_livekit.fake.fail_next, fake_livekit.fake.fail_code = 1, code
    with pytest.raises(Unavailable) as refused:
        await livekit.open_room(a_spec())
    assert refused.value.code == "MEDIA_UNAVAILABLE"
    assert refused.value.status == 503


async def test_a_wrong_api_secret_is_media_unavailable(fake_livekit: FakeLiveKitServer) -> None:
    client = LiveKitClient(fake_livekit.url, api_key=LIVEKIT_KEY, api_secret="x" * 40)
    backend = LiveKitBackend(
        client_url="ws://127.0.0.1:1", client=client, api_key=LIVEKIT_KEY, api_secret="x" * 40
    )
    try:
        with pytest.raises(Unavailable) as refused:
            await backend.open_room(a_spec())
    finally:
        await backend.aclose()
    assert refused.value.code == "MEDIA_UNAVAILABLE"
    assert fake_livekit.fake.rooms == {}


def test_the_host_token_is_a_host_grant_for_the_session_room(livekit: LiveKitBackend) -> None:
    session_id = uuid.uuid4()
    claims = verified(livekit.host_token(session_id, user_id="teacher-1", name="Jane"))
    assert claims["identity"] == "teacher-1"
    assert claims["room"] == str(session_id)
    assert claims["room_admin"] is True and claims["room_record"] is True
