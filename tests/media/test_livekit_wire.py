"""liveclass's own LiveKit wire code against LiveKit's contract: the Twirp client against a
server that implements the documented RoomService and Egress calls, tokens checked by
livekit-api's ``TokenVerifier``, webhooks signed with livekit-api's token builder."""

from __future__ import annotations

import datetime
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator

import jwt
import pytest
from livekit.api import AccessToken, LiveKitAPI, TokenVerifier, WebhookReceiver
from livekit.protocol.room import CreateRoomRequest, ListParticipantsRequest

from liveclass.domain.errors import Invalid
from liveclass.media.livekit_api import (
    FileOutput,
    LiveKitClient,
    LiveKitError,
    LiveKitUnavailable,
    S3Upload,
    http_url_for,
)
from liveclass.media.livekit_messages import EgressStatus, ParticipantPermission
from liveclass.media.livekit_tokens import (
    VideoGrants,
    WebhookEvent,
    WebhookRejected,
    body_hash,
    participant_token,
    verify_webhook,
)
from tests.support.fake_livekit import FakeLiveKit, FakeLiveKitServer, serve_fake_livekit

KEY = "APIliveclass"
SECRET = "a-secret-of-at-least-thirty-two-bytes-000"

SPEAKER = VideoGrants(
    can_publish=True,
    can_publish_sources=("camera", "microphone"),
    can_subscribe=True,
    can_publish_data=True,
)


@pytest.fixture(params=["snake_case", "camelCase"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeLiveKitServer]:
    """The fake answers with proto names, as LiveKit does, or camelCase: both must read."""
    with serve_fake_livekit(KEY, SECRET, camel_case=request.param == "camelCase") as running:
        yield running


@pytest.fixture
async def client(server: FakeLiveKitServer) -> AsyncIterator[LiveKitClient]:
    lk = LiveKitClient(server.url, api_key=KEY, api_secret=SECRET, timeout=2.0)
    yield lk
    await lk.aclose()


def a_room() -> str:
    return f"lesson-{secrets.token_hex(4)}"


def token_for(room: str, identity: str, grants: VideoGrants = SPEAKER) -> str:
    return participant_token(
        api_key=KEY,
        api_secret=SECRET,
        room=room,
        identity=identity,
        name=f"Name of {identity}",
        metadata={"role": "speaker"},
        grants=grants,
        ttl_seconds=600,
    )


# participant tokens


def test_participant_token_carries_livekit_claims_as_its_verifier_reads_them() -> None:
    grants = VideoGrants(
        can_publish=True,
        can_publish_sources=["camera", "microphone", "screen_share"],
        can_subscribe=True,
        can_publish_data=True,
        room_admin=True,
        room_record=True,
    )
    token = participant_token(
        api_key=KEY,
        api_secret=SECRET,
        room="lesson-1",
        identity="user-42",
        name="Ada Lovelace",
        metadata={"role": "host", "session": "s-1"},
        grants=grants,
        ttl_seconds=900,
    )
    claims = TokenVerifier(KEY, SECRET).verify(token)
    assert claims.identity == "user-42"
    assert claims.name == "Ada Lovelace"
    assert json.loads(claims.metadata) == {"role": "host", "session": "s-1"}
    video = claims.video
    assert video is not None
    assert video.room_join is True
    assert video.room == "lesson-1"
    assert video.can_publish is True
    assert video.can_publish_sources == ["camera", "microphone", "screen_share"]
    assert video.can_subscribe is True
    assert video.can_publish_data is True
    assert video.room_admin is True
    assert video.room_record is True
    assert video.room_create is None  # never granted to a participant
    raw = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY)
    assert raw["exp"] - raw["nbf"] == 900
    assert raw["exp"] > time.time()


def test_a_viewer_token_says_no_to_publishing_rather_than_leaving_it_out() -> None:
    # livekit-api (and LiveKit) read a missing canPublish as true
    token = token_for("lesson-1", "viewer-1", VideoGrants(can_subscribe=True))
    video = TokenVerifier(KEY, SECRET).verify(token).video
    assert video is not None
    assert video.can_publish is False
    assert video.can_publish_data is False
    assert video.can_subscribe is True
    assert video.room_admin is None


def test_a_participant_token_signed_with_another_secret_is_refused_by_livekit() -> None:
    token = token_for("lesson-1", "user-1")
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(KEY, "another-secret-of-thirty-two-bytes-0000").verify(token)


@pytest.mark.parametrize(
    ("identity", "room", "sources", "ttl"),
    [
        ("", "lesson-1", None, 60),
        ("user-1", "", None, 60),
        ("user-1", "lesson-1", ["camera", "holograms"], 60),
        ("user-1", "lesson-1", None, 0),
        ("user-1", "lesson-1", None, 7 * 24 * 3600),
    ],
)
def test_participant_token_refuses_what_livekit_could_not_honour(
    identity: str, room: str, sources: list[str] | None, ttl: int
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        participant_token(
            api_key=KEY,
            api_secret=SECRET,
            room=room,
            identity=identity,
            name="x",
            metadata={},
            grants=VideoGrants(can_publish=True, can_publish_sources=sources),
            ttl_seconds=ttl,
        )


def test_grants_naming_another_room_are_refused() -> None:
    with pytest.raises(ValueError, match="room"):
        token_for("lesson-1", "user-1", VideoGrants(room="lesson-2"))


# RoomService


async def test_create_room_sends_the_request_with_a_room_create_token(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    room = await client.create_room(name, max_participants=30, empty_timeout=600)
    assert room.name == name
    assert room.sid.startswith("RM_")
    assert room.max_participants == 30
    assert room.empty_timeout == 600
    assert room.creation_time > 0
    (call,) = server.fake.calls_of("CreateRoom")
    assert call.content_type == "application/json"
    assert call.body["name"] == name
    assert call.body["max_participants"] == 30
    assert call.claims["iss"] == KEY
    assert call.claims["video"] == {"roomCreate": True}
    assert 0 < call.claims["exp"] - call.claims["nbf"] <= 60
    again = await client.create_room(name, max_participants=30, empty_timeout=600)
    assert again.sid == room.sid  # CreateRoom answers the existing room


async def test_create_room_without_a_name_is_invalid_argument(client: LiveKitClient) -> None:
    with pytest.raises(LiveKitError) as refused:
        await client.create_room("")
    assert (refused.value.status, refused.value.code) == (400, "invalid_argument")


async def test_delete_room_closes_it_and_a_second_delete_is_not_found(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    await client.delete_room(name)
    assert name not in server.fake.rooms
    with pytest.raises(LiveKitError) as refused:
        await client.delete_room(name)
    assert (refused.value.status, refused.value.code) == (404, "not_found")
    assert refused.value.msg


async def test_participants_are_listed_as_their_token_admitted_them(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    server.fake.connect(token_for(name, "user-7"), sources=("camera", "microphone"))
    (someone,) = await client.list_participants(name)
    assert someone.identity == "user-7"
    assert someone.name == "Name of user-7"
    assert json.loads(someone.metadata) == {"role": "speaker"}
    assert someone.sid.startswith("PA_")
    assert someone.state == "active"
    assert someone.permission == ParticipantPermission(
        can_subscribe=True,
        can_publish=True,
        can_publish_data=True,
        can_publish_sources=("camera", "microphone"),
    )
    assert sorted((t.kind, t.source) for t in someone.tracks) == [
        ("audio", "microphone"),
        ("video", "camera"),
    ]
    (call,) = server.fake.calls_of("ListParticipants")
    assert call.claims["video"] == {"roomAdmin": True, "room": name}


async def test_update_participant_changes_permissions_live(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    server.fake.connect(token_for(name, "user-7"), sources=("camera",))
    viewer = ParticipantPermission(can_subscribe=True, can_publish_data=True)
    updated = await client.update_participant(name, "user-7", permission=viewer, metadata="{}")
    assert updated.permission == viewer
    assert updated.metadata == "{}"
    assert updated.tracks == ()  # LiveKit unpublishes what may no longer be published
    (call,) = server.fake.calls_of("UpdateParticipant")
    assert call.body["permission"]["can_subscribe"] is True
    assert call.claims["video"] == {"roomAdmin": True, "room": name}
    promoted = ParticipantPermission(
        can_subscribe=True, can_publish=True, can_publish_sources=("camera", "screen_share")
    )
    again = await client.update_participant(name, "user-7", permission=promoted)
    assert again.permission.can_publish_sources == ("camera", "screen_share")
    assert again.metadata == "{}"  # not given, so unchanged


async def test_update_of_someone_not_connected_is_not_found(client: LiveKitClient) -> None:
    name = a_room()
    await client.create_room(name)
    with pytest.raises(LiveKitError) as refused:
        await client.update_participant(name, "nobody", permission=ParticipantPermission())
    assert (refused.value.status, refused.value.code) == (404, "not_found")


async def test_remove_participant_disconnects_and_a_second_removal_is_not_found(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    server.fake.connect(token_for(name, "user-7"))
    await client.remove_participant(name, "user-7")
    assert await client.list_participants(name) == []
    with pytest.raises(LiveKitError) as refused:
        await client.remove_participant(name, "user-7")
    assert refused.value.code == "not_found"


async def test_mute_published_track_mutes_that_track(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    joined = server.fake.connect(token_for(name, "user-7"), sources=("microphone",))
    track_sid = joined["tracks"][0]["sid"]
    track = await client.mute_published_track(name, "user-7", track_sid)
    assert (track.sid, track.muted, track.source) == (track_sid, True, "microphone")
    (someone,) = await client.list_participants(name)
    assert someone.tracks[0].muted is True
    with pytest.raises(LiveKitError) as refused:
        await client.mute_published_track(name, "user-7", "TR_unknown")
    assert refused.value.code == "not_found"


async def test_admin_calls_need_the_admin_grant_of_that_very_room(
    client: LiveKitClient,
) -> None:
    name = a_room()
    await client.create_room(name)
    with pytest.raises(LiveKitError) as refused:
        await client.call(
            "livekit.RoomService",
            "ListParticipants",
            {"room": name},
            VideoGrants(room_admin=True, room="another-room"),
        )
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")


async def test_a_wrong_secret_is_refused_as_unauthenticated(server: FakeLiveKitServer) -> None:
    wrong = LiveKitClient(server.url, api_key=KEY, api_secret="not-the-secret-00000000000000000000")
    with pytest.raises(LiveKitError) as refused:
        await wrong.create_room(a_room())
    await wrong.aclose()
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")


# Egress


async def test_room_composite_egress_starts_lists_stops_and_completes(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    output = FileOutput(f"recordings/{name}.mp4", s3=S3Upload(bucket="classes", region="eu"))
    started = await client.start_room_composite_egress(name, output, layout="speaker")
    assert started.egress_id.startswith("EG_")
    assert started.room_name == name
    assert started.status is EgressStatus.STARTING
    (call,) = server.fake.calls_of("StartRoomCompositeEgress")
    assert call.claims["video"] == {"roomRecord": True}
    assert call.body["file_outputs"] == [
        {
            "file_type": "MP4",
            "filepath": f"recordings/{name}.mp4",
            "s3": {"bucket": "classes", "region": "eu"},
        }
    ]
    assert call.body["layout"] == "speaker"

    server.fake.activate_egress(started.egress_id)
    (active,) = await client.list_egress(room=name, active=True)
    assert (active.egress_id, active.status) == (started.egress_id, EgressStatus.ACTIVE)

    stopping = await client.stop_egress(started.egress_id)
    assert stopping.status is EgressStatus.ENDING
    with pytest.raises(LiveKitError) as refused:
        await client.stop_egress(started.egress_id)
    assert (refused.value.status, refused.value.code) == (412, "failed_precondition")

    server.fake.complete_egress(started.egress_id, size=4096)
    assert await client.list_egress(room=name, active=True) == []
    (done,) = await client.list_egress(egress_id=started.egress_id)
    assert done.status is EgressStatus.COMPLETE
    (file,) = done.file_results
    assert file.filename == f"recordings/{name}.mp4"
    assert file.location == f"s3://classes/recordings/{name}.mp4"
    assert file.size == 4096
    assert file.ended_at >= file.started_at > 0


async def test_egress_of_a_room_that_does_not_exist_is_not_found(client: LiveKitClient) -> None:
    with pytest.raises(LiveKitError) as refused:
        await client.start_room_composite_egress("no-such-room", FileOutput("x.mp4"))
    assert refused.value.code == "not_found"


async def test_stopping_an_unknown_egress_is_not_found(client: LiveKitClient) -> None:
    with pytest.raises(LiveKitError) as refused:
        await client.stop_egress("EG_unknown")
    assert (refused.value.status, refused.value.code) == (404, "not_found")


# failures


async def test_a_server_that_is_down_is_unavailable_and_a_retry_works(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    server.stop()
    with pytest.raises(LiveKitUnavailable) as down:
        await client.create_room(a_room())
    assert (down.value.status, down.value.code) == (503, "MEDIA_UNAVAILABLE")
    server.start()
    assert (await client.create_room("after-the-outage")).name == "after-the-outage"


async def test_a_503_is_unavailable_and_the_next_call_works(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    server.fake.fail_next = 1
    with pytest.raises(LiveKitUnavailable):
        await client.create_room(a_room())
    name = a_room()
    assert (await client.create_room(name)).name == name


async def test_a_server_that_does_not_answer_in_time_is_unavailable(
    server: FakeLiveKitServer,
) -> None:
    hasty = LiveKitClient(server.url, api_key=KEY, api_secret=SECRET, timeout=0.3)
    server.fake.stall_next, server.fake.stall_seconds = 1, 2.0
    with pytest.raises(LiveKitUnavailable):
        await hasty.create_room(a_room())
    await hasty.aclose()


def test_the_api_url_of_a_websocket_url_swaps_the_scheme() -> None:
    assert http_url_for("wss://lk.example.org") == "https://lk.example.org"
    assert http_url_for("ws://127.0.0.1:7880/") == "http://127.0.0.1:7880/"
    assert http_url_for("https://lk.example.org") == "https://lk.example.org"


async def test_the_fake_also_speaks_protobuf_to_livekit_apis_own_client() -> None:
    with serve_fake_livekit(KEY, SECRET) as running:
        sdk = LiveKitAPI(running.url, KEY, SECRET)
        try:
            room = await sdk.room.create_room(CreateRoomRequest(name="sdk-room"))
            listed = await sdk.room.list_participants(ListParticipantsRequest(room="sdk-room"))
        finally:
            await sdk.aclose()
        assert room.name == "sdk-room"
        assert list(listed.participants) == []
        (call,) = running.fake.calls_of("CreateRoom")
        assert call.content_type == "application/protobuf"


# webhooks


@pytest.fixture
def livekit() -> FakeLiveKit:
    """The signing half of the fake; no port needed."""
    return FakeLiveKit(KEY, SECRET)


def receiver() -> WebhookReceiver:
    return WebhookReceiver(TokenVerifier(KEY, SECRET))


def test_a_signed_participant_webhook_is_verified_and_read(livekit: FakeLiveKit) -> None:
    event = livekit.webhook_event(
        "participant_joined",
        room={"sid": "RM_abc", "name": "lesson-1"},
        participant={"sid": "PA_xyz", "identity": "user-7", "name": "Ada"},
    )
    signed = livekit.sign_webhook(event)
    body = verify_webhook(
        body=signed.body,
        authorization=signed.headers["Authorization"],
        api_key=KEY,
        api_secret=SECRET,
    )
    parsed = WebhookEvent.parse(body)
    assert parsed.id == event["id"]
    assert parsed.event == "participant_joined"
    assert parsed.created_at == event["created_at"]
    assert (parsed.room_name, parsed.room_sid) == ("lesson-1", "RM_abc")
    assert (parsed.participant_identity, parsed.participant_sid) == ("user-7", "PA_xyz")
    assert parsed.participant_name == "Ada"
    assert parsed.egress is None
    # livekit-api's own receiver accepts the very same delivery
    oracle = receiver().receive(signed.body.decode(), signed.headers["Authorization"])
    assert (oracle.id, oracle.event, oracle.participant.identity) == (
        parsed.id,
        parsed.event,
        parsed.participant_identity,
    )


async def test_an_egress_ended_webhook_reports_the_file(
    client: LiveKitClient, server: FakeLiveKitServer
) -> None:
    name = a_room()
    await client.create_room(name)
    started = await client.start_room_composite_egress(name, FileOutput(f"{name}.mp4"))
    info = server.fake.complete_egress(started.egress_id, size=2048)
    signed = server.fake.sign_webhook(server.fake.webhook_event("egress_ended", egress_info=info))
    assert b'"egressInfo"' in signed.body  # webhooks are camelCase protojson
    body = verify_webhook(
        body=signed.body,
        authorization=signed.headers["Authorization"],
        api_key=KEY,
        api_secret=SECRET,
    )
    parsed = WebhookEvent.parse(body)
    assert parsed.room_name == name
    assert parsed.egress is not None
    assert parsed.egress.egress_id == started.egress_id
    assert parsed.egress.status is EgressStatus.COMPLETE
    assert [(f.filename, f.size) for f in parsed.egress.file_results] == [(f"{name}.mp4", 2048)]


def _forged(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(
        livekit.webhook_event("room_finished", room={"name": "r"}),
        api_secret="someone-elses-secret-of-32-bytes-0000",
    )
    return signed.body, signed.headers["Authorization"]


def _stale(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(
        livekit.webhook_event("room_finished", room={"name": "r"}),
        ttl=datetime.timedelta(minutes=-10),
    )
    return signed.body, signed.headers["Authorization"]


def _tampered(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(livekit.webhook_event("room_finished", room={"name": "r"}))
    return signed.body.replace(b'"r"', b'"s"'), signed.headers["Authorization"]


def _missing(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(livekit.webhook_event("room_finished", room={"name": "r"}))
    return signed.body, None


def _other_key(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(
        livekit.webhook_event("room_finished", room={"name": "r"}), api_key="APIother"
    )
    return signed.body, signed.headers["Authorization"]


def _no_body_hash(livekit: FakeLiveKit) -> tuple[bytes, str | None]:
    signed = livekit.sign_webhook(livekit.webhook_event("room_finished", room={"name": "r"}))
    return signed.body, AccessToken(KEY, SECRET).to_jwt()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_forged, "signature"),
        (_stale, "expired"),
        (_tampered, "body"),
        (_missing, "no Authorization"),
        (_other_key, "another API key"),
        (_no_body_hash, "sha256"),
    ],
    ids=["forged", "stale", "tampered", "missing", "other-key", "no-body-hash"],
)
def test_webhooks_livekit_did_not_sign_for_this_body_are_refused(
    livekit: FakeLiveKit, make: Callable[[FakeLiveKit], tuple[bytes, str | None]], reason: str
) -> None:
    body, authorization = make(livekit)
    with pytest.raises(WebhookRejected, match=reason) as refused:
        verify_webhook(body=body, authorization=authorization, api_key=KEY, api_secret=SECRET)
    assert (refused.value.status, refused.value.code) == (401, "INVALID_WEBHOOK_SIGNATURE")
    # livekit-api's receiver refuses the same deliveries
    with pytest.raises(Exception):  # noqa: B017, PT011 - it raises bare Exception or jwt's
        receiver().receive(body.decode(), authorization or "")


def test_unknown_fields_in_a_webhook_are_ignored(livekit: FakeLiveKit) -> None:
    body = json.dumps(
        {
            "id": "EV_1",
            "event": "participant_left",
            "createdAt": "1700000000",
            "room": {"name": "lesson-1", "sid": "RM_1", "aNewField": 1},
            "participant": {"identity": "user-7", "futureThing": {"x": 1}},
            "somethingLiveKitAddedLater": True,
        }
    ).encode()
    authorization = AccessToken(KEY, SECRET).with_sha256(body_hash(body)).to_jwt()
    parsed = WebhookEvent.parse(
        verify_webhook(body=body, authorization=authorization, api_key=KEY, api_secret=SECRET)
    )
    assert (parsed.id, parsed.event, parsed.created_at) == ("EV_1", "participant_left", 1700000000)
    assert (parsed.room_name, parsed.participant_identity) == ("lesson-1", "user-7")
    assert receiver().receive(body.decode(), authorization).participant.identity == "user-7"


def test_a_signed_body_that_is_not_json_is_invalid() -> None:
    body = b"not json"
    authorization = AccessToken(KEY, SECRET).with_sha256(body_hash(body)).to_jwt()
    with pytest.raises(Invalid) as refused:
        verify_webhook(body=body, authorization=authorization, api_key=KEY, api_secret=SECRET)
    assert refused.value.code == "INVALID_WEBHOOK_BODY"
