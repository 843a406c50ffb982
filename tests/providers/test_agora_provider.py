"""The Agora provider against the fake Agora: join tokens (decoded with the published
algorithm), kicking rules, Cloud Recording into the S3 bucket, and Notifications."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from liveclass.domain.roles import Role
from liveclass.providers.agora import AgoraProvider
from liveclass.providers.agora_api import AgoraClient, RecordingBucket
from liveclass.providers.agora_token import RtcPrivilege, parse_token, verify_signature
from liveclass.providers.errors import ProviderError, WebhookRejected
from liveclass.providers.hosted import Attendee, EventKind, MeetingSpec, numeric_uid
from liveclass.providers.unsupported import NotSupported
from tests.support.fake_agora import APP_CERTIFICATE, FakeAgora, serve_fake_agora

BUCKET = RecordingBucket("classes", 0, "AKIA-test", "s3-secret", ("lc",))


@pytest.fixture
def fake() -> Iterator[FakeAgora]:
    with serve_fake_agora() as running:
        yield running


def _provider(fake: FakeAgora, bucket: RecordingBucket | None = BUCKET) -> AgoraProvider:
    client = AgoraClient(
        app_id=fake.app_id,
        customer_id=fake.customer_id,
        customer_secret=fake.customer_secret,
        api_url=fake.url,
    )
    return AgoraProvider(
        client, app_certificate=APP_CERTIFICATE, webhook_secret=fake.webhook_secret, bucket=bucket
    )


@pytest.fixture
async def agora(fake: FakeAgora) -> AsyncIterator[AgoraProvider]:
    provider = _provider(fake)
    yield provider
    await provider.aclose()


def _spec(minutes_from_now: int = 0, duration: int = 60) -> MeetingSpec:
    starts = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes_from_now)
    return MeetingSpec(uuid.uuid4(), "Algebra", starts, duration, 30, False, True, False, None)


def _who(user_id: str, role: Role) -> Attendee:
    return Attendee(uuid.uuid4(), user_id, user_id, role)


async def test_a_viewer_may_only_join_and_a_speaker_may_publish(agora: AgoraProvider) -> None:
    meeting = await agora.create(_spec())
    viewer = await agora.join(meeting, _who("student-1", Role.VIEWER))
    speaker = await agora.join(meeting, _who("student-2", Role.SPEAKER))
    assert viewer.token is not None and speaker.token is not None
    seen = parse_token(viewer.token)
    assert verify_signature(seen, APP_CERTIFICATE)
    assert seen.app_id == agora.client.app_id
    grant = seen.rtc
    assert grant.channel == meeting.meeting_id
    assert grant.uid == str(numeric_uid(meeting.meeting_id, "student-1"))
    assert set(grant.privileges) == {RtcPrivilege.JOIN_CHANNEL}
    assert set(parse_token(speaker.token).rtc.privileges) == set(RtcPrivilege)
    assert viewer.extra["uid"] == numeric_uid(meeting.meeting_id, "student-1")
    assert viewer.extra["channel"] == meeting.meeting_id
    assert viewer.extra["app_id"] == agora.client.app_id


async def test_the_token_expires_with_the_class_and_never_past_a_day(
    agora: AgoraProvider,
) -> None:
    soon = await agora.create(_spec(duration=60))
    grant = await agora.join(soon, _who("t", Role.HOST))
    assert grant.token is not None and grant.expires_at is not None
    # an hour after the planned end: 60 minutes of class + 60 of overrun
    assert abs(grant.expires_at - (time.time() + 7200)) < 5
    assert parse_token(grant.token).expires_at == grant.expires_at
    later = await agora.create(_spec(minutes_from_now=3 * 24 * 60))
    far = await agora.join(later, _who("t", Role.HOST))
    assert far.expires_at is not None and far.expires_at - time.time() <= 24 * 3600


async def test_the_same_person_gets_the_same_uid_on_every_join(agora: AgoraProvider) -> None:
    meeting = await agora.create(_spec())
    first = await agora.join(meeting, _who("student-1", Role.VIEWER))
    again = await agora.join(meeting, _who("student-1", Role.VIEWER))
    other = await agora.join(meeting, _who("student-2", Role.VIEWER))
    assert first.extra["uid"] == again.extra["uid"] != other.extra["uid"]


async def test_kick_sets_a_kicking_rule_for_the_channel_and_uid(
    agora: AgoraProvider, fake: FakeAgora
) -> None:
    meeting = await agora.create(_spec())
    await agora.kick(meeting, _who("student-1", Role.VIEWER))
    (rule,) = fake.rules
    assert rule["cname"] == meeting.meeting_id
    assert rule["uid"] == numeric_uid(meeting.meeting_id, "student-1")
    assert rule["privileges"] == ["join_channel"]


async def test_a_refused_kick_is_a_provider_error(agora: AgoraProvider, fake: FakeAgora) -> None:
    fake.customer_secret = "rotated"
    meeting = await agora.create(_spec())
    with pytest.raises(ProviderError) as refused:
        await agora.kick(meeting, _who("student-1", Role.VIEWER))
    assert refused.value.provider_status == 401


async def test_recording_acquires_starts_and_stops_into_the_bucket(
    agora: AgoraProvider, fake: FakeAgora
) -> None:
    meeting = await agora.create(_spec())
    await agora.start_recording(meeting)
    (session,) = fake.sessions.values()
    storage = session["clientRequest"]["storageConfig"]
    assert storage["bucket"] == "classes" and storage["vendor"] == 1
    assert storage["fileNamePrefix"][:2] == ["lc", "agora"]
    assert "mp4" in session["clientRequest"]["recordingFileConfig"]["avFileType"]
    token = parse_token(session["clientRequest"]["token"])
    assert token.rtc.channel == meeting.meeting_id
    await agora.stop_recording(meeting)
    assert not session["running"]
    verbs = [c.path.rsplit("/", 1)[1] for c in fake.calls]
    assert verbs == ["acquire", "start", "stop"]
    with pytest.raises(ProviderError):
        await agora.stop_recording(meeting)  # nothing runs any more


async def test_without_s3_recording_is_not_supported(fake: FakeAgora) -> None:
    provider = _provider(fake, bucket=None)
    with pytest.raises(NotSupported):
        await provider.start_recording(await provider.create(_spec()))
    await provider.aclose()
    assert fake.calls == []


def test_notifications_read_joins_by_uid_and_channel_events(
    agora: AgoraProvider, fake: FakeAgora
) -> None:
    uid = numeric_uid("class-x", "student-1")
    body, headers = fake.sign(fake.notice(103, {"channelName": "class-x", "uid": uid, "ts": 5}))
    events = agora.read_webhook(headers, body)
    assert isinstance(events, list)
    (joined,) = events
    assert joined.kind is EventKind.PARTICIPANT_JOINED and joined.uid == uid
    assert joined.meeting_id == "class-x" and joined.connection == str(uid)
    body, headers = fake.sign(fake.notice(104, {"channelName": "class-x", "uid": uid, "ts": 9}))
    (left,) = agora.read_webhook(headers, body)  # type: ignore[misc]
    assert left.kind is EventKind.PARTICIPANT_LEFT
    body, headers = fake.sign(fake.notice(102, {"channelName": "class-x", "ts": 9}))
    (ended,) = agora.read_webhook(headers, body)  # type: ignore[misc]
    assert ended.kind is EventKind.MEETING_ENDED


def test_a_notification_signed_with_another_secret_or_long_ago_is_refused(
    agora: AgoraProvider, fake: FakeAgora
) -> None:
    notice = fake.notice(101, {"channelName": "class-x", "ts": 1})
    body, headers = fake.sign(notice)
    headers["Agora-Signature-V2"] = "0" * 64
    with pytest.raises(WebhookRejected):
        agora.read_webhook(headers, body)
    old = fake.sign(fake.notice(101, {"channelName": "class-x"}, sent=time.time() - 3600))
    with pytest.raises(WebhookRejected):
        agora.read_webhook(old[1], old[0])
