"""JitsiProvider: rooms and per-person tokens decoded with pyjwt (self-hosted HS256, JaaS
RS256 checked with the public key), the steps Jitsi has no API for, and JaaS webhooks
(good, forged, stale) read into ProviderEvents, with the recording link fetched from the
fake JaaS over 127.0.0.1."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from liveclass.domain.roles import Role
from liveclass.providers.errors import ProviderError, WebhookRejected
from liveclass.providers.hosted import Attendee, EventKind, MeetingSpec, ProviderEvent
from liveclass.providers.jitsi import JitsiProvider, class_room
from liveclass.providers.unsupported import NotSupported
from tests.providers.hosted_harness_jitsi import APP_ID, KEY_ID, JitsiHarness, harness

DOMAIN = "meet.school.example"
APP = "liveclass"
SECRET = "a-jitsi-app-secret-of-32-bytes-or-more"
TEACHER = Attendee(uuid.uuid4(), "teacher-7", "Profesora Ana", Role.HOST)
CO_HOST = Attendee(uuid.uuid4(), "mentor-3", "Mentor Carl", Role.CO_HOST)
STUDENT = Attendee(uuid.uuid4(), "student-9", "Ben", Role.VIEWER)


def a_class(**changes: object) -> MeetingSpec:
    fields: dict[str, object] = {
        "session_id": uuid.uuid4(),
        "title": "Español B1: Conversación",
        "starts_at": datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
        "duration_minutes": 60,
        "max_participants": 30,
        "waiting_room": False,
        "recorded": True,
        "is_public": False,
        "course_id": None,
    }
    fields.update(changes)
    return MeetingSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def self_hosted() -> JitsiProvider:
    return JitsiProvider.self_hosted(domain=DOMAIN, app_id=APP, app_secret=SECRET)


@pytest.fixture
async def jaas() -> AsyncIterator[JitsiHarness]:
    async with harness() as running:
        yield running


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["jwt"][0]


def decode_self_hosted(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi")
    return claims


def decode_jaas(token: str, jaas: JitsiHarness) -> dict[str, Any]:
    public = jaas.webhooks.key.public_key()
    claims: dict[str, Any] = jwt.decode(token, public, algorithms=["RS256"], audience="jitsi")
    return claims


# rooms and tokens


async def test_create_names_a_room_and_calls_nothing(self_hosted: JitsiProvider) -> None:
    spec = a_class()
    meeting = await self_hosted.create(spec)
    assert meeting.meeting_id == class_room(spec)
    assert meeting.meeting_id.startswith("espanol-b1-conversacion-")
    assert meeting.meeting_id.endswith(spec.session_id.hex[:12])
    assert meeting.url == f"https://{DOMAIN}/{meeting.meeting_id}"
    other = await self_hosted.create(a_class())
    assert other.meeting_id != meeting.meeting_id


def test_a_title_without_letters_still_gives_a_room() -> None:
    spec = a_class(title="!!!")
    assert class_room(spec) == f"class-{spec.session_id.hex[:12]}"


async def test_self_hosted_tokens_make_host_and_co_host_moderators(
    self_hosted: JitsiProvider,
) -> None:
    meeting = await self_hosted.create(a_class())
    for who, moderator in ((TEACHER, "true"), (CO_HOST, "true"), (STUDENT, "false")):
        grant = await self_hosted.join(meeting, who)
        assert grant.url == f"https://{DOMAIN}/{meeting.meeting_id}?jwt={grant.token}"
        assert grant.token is not None
        claims = decode_self_hosted(grant.token)
        assert (claims["iss"], claims["sub"], claims["room"]) == (APP, DOMAIN, meeting.meeting_id)
        user = claims["context"]["user"]
        assert (user["id"], user["name"], user["moderator"]) == (who.user_id, who.name, moderator)
        assert claims["exp"] == grant.expires_at


async def test_a_token_lives_until_an_hour_after_the_class(self_hosted: JitsiProvider) -> None:
    spec = a_class()
    meeting = await self_hosted.create(spec)
    grant = await self_hosted.join(meeting, STUDENT)
    ends = spec.starts_at + datetime.timedelta(minutes=spec.duration_minutes + 60)
    assert grant.expires_at is not None
    assert abs(grant.expires_at - ends.timestamp()) <= 2
    long_over = await self_hosted.create(
        a_class(starts_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    )
    late = await self_hosted.join(long_over, STUDENT)
    assert late.expires_at is not None and late.expires_at - time.time() >= 14 * 60


async def test_update_keeps_the_room_and_its_links(self_hosted: JitsiProvider) -> None:
    meeting = await self_hosted.create(a_class())
    updated = await self_hosted.update(meeting, a_class(title="Another title"))
    assert (updated.meeting_id, updated.url) == (meeting.meeting_id, meeting.url)


async def test_jaas_tokens_are_rs256_with_the_key_and_features_for_moderators(
    jaas: JitsiHarness,
) -> None:
    meeting = await jaas.provider.create(a_class())
    assert meeting.url == f"https://8x8.vc/{APP_ID}/{meeting.meeting_id}"
    host = await jaas.provider.join(meeting, TEACHER)
    student = await jaas.provider.join(meeting, STUDENT)
    assert host.token is not None and student.token is not None
    assert host.url == f"https://8x8.vc/{APP_ID}/{meeting.meeting_id}?jwt={host.token}"
    assert jwt.get_unverified_header(host.token)["kid"] == f"{APP_ID}/{KEY_ID}"
    host_claims, student_claims = decode_jaas(host.token, jaas), decode_jaas(student.token, jaas)
    assert (host_claims["sub"], host_claims["room"]) == (APP_ID, meeting.meeting_id)
    assert host_claims["context"]["user"]["moderator"] == "true"
    assert host_claims["context"]["features"]["recording"] == "true"
    assert student_claims["context"]["user"]["moderator"] == "false"
    assert "features" not in student_claims["context"]


async def test_a_class_not_recorded_gives_moderators_no_recording(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class(recorded=False))
    grant = await jaas.provider.join(meeting, TEACHER)
    assert grant.token is not None
    assert decode_jaas(grant.token, jaas)["context"]["features"]["recording"] == "false"


async def test_end_delete_call_nothing_and_recording_is_not_supported(
    self_hosted: JitsiProvider,
) -> None:
    meeting = await self_hosted.create(a_class())
    await self_hosted.end(meeting)
    await self_hosted.delete(meeting)
    with pytest.raises(NotSupported) as refused:
        await self_hosted.start_recording(meeting)
    assert refused.value.code == "NOT_SUPPORTED_BY_PROVIDER" and refused.value.status == 409
    with pytest.raises(NotSupported):
        await self_hosted.stop_recording(meeting)


async def test_self_hosted_jitsi_refuses_any_webhook(self_hosted: JitsiProvider) -> None:
    with pytest.raises(WebhookRejected):
        self_hosted.read_webhook({"X-Jaas-Signature": "t=1,v1=x"}, b"{}")


# JaaS webhooks


def read(jaas: JitsiHarness, delivery: tuple[dict[str, str], bytes]) -> list[ProviderEvent]:
    events = jaas.provider.read_webhook(*delivery)
    assert isinstance(events, list)
    return events


async def test_attendance_carries_the_tokens_user_id(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    joined_at = datetime.datetime(2026, 12, 20, 15, 2, tzinfo=datetime.UTC)
    left_at = joined_at + datetime.timedelta(minutes=40)
    (joined,) = read(jaas, jaas.webhooks.participant_joined(meeting, STUDENT, at=joined_at))
    (left,) = read(jaas, jaas.webhooks.participant_left(meeting, STUDENT, at=left_at))
    assert (joined.kind, joined.user_id, joined.at) == (
        EventKind.PARTICIPANT_JOINED,
        STUDENT.user_id,
        joined_at,
    )
    assert (left.kind, left.user_id, left.at) == (
        EventKind.PARTICIPANT_LEFT,
        STUDENT.user_id,
        left_at,
    )
    assert joined.meeting_id == left.meeting_id == meeting.meeting_id
    assert joined.connection == left.connection is not None
    assert joined.event_id != left.event_id


async def test_the_same_delivery_twice_has_the_same_event_id(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    delivery = jaas.webhooks.participant_joined(
        meeting, TEACHER, at=datetime.datetime.now(datetime.UTC)
    )
    assert read(jaas, delivery)[0].event_id == read(jaas, delivery)[0].event_id


async def test_room_created_and_destroyed_start_and_end_the_meeting(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    start = datetime.datetime(2026, 12, 20, 15, 0, tzinfo=datetime.UTC)
    (started,) = read(jaas, jaas.webhooks.meeting_started(meeting, at=start))
    (ended,) = read(jaas, jaas.webhooks.meeting_ended(meeting, at=start))
    assert (started.kind, started.meeting_id) == (EventKind.MEETING_STARTED, meeting.meeting_id)
    assert ended.kind is EventKind.MEETING_ENDED


async def test_recording_uploaded_is_ready_and_downloads(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    content = bytes(range(256)) * 3000
    (event,) = read(jaas, jaas.webhooks.recording_ready(meeting, content))
    assert event.kind is EventKind.RECORDING_READY and event.recording is not None
    assert event.recording.download_url.startswith(jaas.webhooks.fake.url)
    assert b"".join([c async for c in jaas.provider.download(event.recording)]) == content


async def test_an_expired_recording_link_is_a_provider_error(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    (event,) = read(jaas, jaas.webhooks.recording_ready(meeting))
    assert event.recording is not None
    jaas.webhooks.fake.files.clear()  # JaaS keeps a recording 24 hours
    with pytest.raises(ProviderError) as refused:
        _ = [c async for c in jaas.provider.download(event.recording)]
    assert refused.value.provider_status == 403


async def test_other_events_are_read_as_none(jaas: JitsiHarness) -> None:
    event = jaas.webhooks.fake.event("CHAT_UPLOADED", "room-1", {"preAuthenticatedLink": "x"})
    assert jaas.provider.read_webhook(*jaas.webhooks.fake.sign(event)) == []


async def test_a_delivery_not_signed_by_jaas_is_rejected(jaas: JitsiHarness) -> None:
    meeting = await jaas.provider.create(a_class())
    event = jaas.webhooks.fake.event("ROOM_CREATED", meeting.meeting_id, {})
    headers, body = jaas.webhooks.fake.sign(event, secret="not-the-secret")
    with pytest.raises(WebhookRejected):
        jaas.provider.read_webhook(headers, body)
    headers, body = jaas.webhooks.fake.sign(event)
    with pytest.raises(WebhookRejected):
        jaas.provider.read_webhook(headers, body.replace(b"ROOM_CREATED", b"ROOM_DESTROYED"))
    with pytest.raises(WebhookRejected):
        jaas.provider.read_webhook({}, body)


async def test_a_stale_delivery_is_rejected(jaas: JitsiHarness) -> None:
    event = jaas.webhooks.fake.event("ROOM_CREATED", "room-1", {})
    headers, body = jaas.webhooks.fake.sign(event, t=int(time.time()) - 3600)
    with pytest.raises(WebhookRejected):
        jaas.provider.read_webhook(headers, body)
