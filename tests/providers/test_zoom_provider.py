"""ZoomProvider, every protocol step against the fake Zoom over 127.0.0.1: what is sent
(paths and bodies from Zoom's docs), what each person is handed, the webhooks read into
ProviderEvents (good, forged, stale, url_validation) and the failures split as the protocol
says (down -> ProviderUnavailable, refusal -> ProviderError)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from liveclass.domain.errors import Invalid
from liveclass.domain.roles import Role
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from liveclass.providers.hosted import (
    Attendee,
    Challenge,
    EventKind,
    Meeting,
    MeetingSpec,
    ProviderEvent,
)
from liveclass.providers.zoom import ZoomProvider, attendee_email, attendee_user_id
from tests.providers.hosted_harness_zoom import ZoomHarness, harness
from tests.support.fake_zoom import FakeZoom

START = datetime.datetime(2026, 12, 20, 15, 0, tzinfo=datetime.UTC)
TEACHER = Attendee(uuid.uuid4(), "teacher-7", "Profesora Ana", Role.HOST)
CO_HOST = Attendee(uuid.uuid4(), "mentor-3", "Mentor Carl", Role.CO_HOST)
STUDENT = Attendee(uuid.uuid4(), "0b7c1a2e-5f0d-4c59-9a51-3f1f0c8d2e11", "Ben Ito", Role.VIEWER)


def a_class(**changes: object) -> MeetingSpec:
    fields: dict[str, object] = {
        "session_id": uuid.uuid4(),
        "title": "Spanish Conversation Practice",
        "starts_at": START,
        "duration_minutes": 60,
        "max_participants": 30,
        "waiting_room": True,
        "recorded": True,
        "is_public": False,
        "course_id": "course-1",
    }
    fields.update(changes)
    return MeetingSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def zoom() -> AsyncIterator[ZoomHarness]:
    async with harness() as running:
        yield running


def fake_of(zoom: ZoomHarness) -> FakeZoom:
    return zoom.webhooks.zoom.fake


def read(zoom: ZoomHarness, delivery: tuple[dict[str, str], bytes]) -> list[ProviderEvent]:
    events = zoom.provider.read_webhook(*delivery)
    assert isinstance(events, list)
    return events


# meetings


async def test_create_schedules_a_meeting_as_the_class_says(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    (call,) = fake_of(zoom).calls_to("POST", "/v2/users/me/meetings")
    assert call.body["topic"] == "Spanish Conversation Practice"
    assert call.body["type"] == 2
    assert call.body["start_time"] == "2026-12-20T15:00:00Z"
    assert call.body["duration"] == 60
    settings = call.body["settings"]
    assert settings["waiting_room"] is True
    assert settings["auto_recording"] == "cloud"
    assert settings["approval_type"] == 0
    assert settings["registrants_confirmation_email"] is False
    passcode = call.body["password"]
    assert 1 <= len(passcode) <= 10 and passcode.isalnum()
    stored = fake_of(zoom).meetings[int(meeting.meeting_id)]
    assert meeting.provider == "zoom"
    assert meeting.url == stored["join_url"]
    assert meeting.data["password"] == passcode
    assert meeting.data["host_id"] == stored["host_id"]


async def test_a_class_not_recorded_has_no_auto_recording_and_passcodes_differ(
    zoom: ZoomHarness,
) -> None:
    await zoom.provider.create(a_class(recorded=False, waiting_room=False))
    await zoom.provider.create(a_class())
    first, second = fake_of(zoom).calls_to("POST", "/v2/users/me/meetings")
    assert first.body["settings"]["auto_recording"] == "none"
    assert first.body["settings"]["waiting_room"] is False
    assert first.body["password"] != second.body["password"]


async def test_update_reschedules_and_keeps_the_passcode(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    later = START + datetime.timedelta(days=1, hours=2)
    updated = await zoom.provider.update(meeting, a_class(starts_at=later, duration_minutes=90))
    (call,) = fake_of(zoom).calls_to("PATCH", f"/v2/meetings/{meeting.meeting_id}")
    assert call.body["start_time"] == "2026-12-21T17:00:00Z"
    assert call.body["password"] == meeting.data["password"]
    stored = fake_of(zoom).meetings[int(meeting.meeting_id)]
    assert (stored["start_time"], stored["duration"]) == ("2026-12-21T17:00:00Z", 90)
    assert updated.meeting_id == meeting.meeting_id and updated.url == meeting.url


async def test_end_puts_the_meeting_status_end(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    await zoom.provider.end(meeting)
    (call,) = fake_of(zoom).calls_to("PUT", f"/v2/meetings/{meeting.meeting_id}/status")
    assert call.body == {"action": "end"}
    assert fake_of(zoom).meetings[int(meeting.meeting_id)]["status"] == "finished"


async def test_delete_removes_the_meeting_and_gone_counts_as_done(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    await zoom.provider.delete(meeting)
    assert int(meeting.meeting_id) not in fake_of(zoom).meetings
    await zoom.provider.delete(meeting)  # Zoom answers 3001 now
    await zoom.provider.end(meeting)
    assert len(fake_of(zoom).calls_to("DELETE", f"/v2/meetings/{meeting.meeting_id}")) == 2


# joining


async def test_the_host_gets_the_start_url_read_afresh(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    grant = await zoom.provider.join(meeting, TEACHER)
    stored = fake_of(zoom).meetings[int(meeting.meeting_id)]
    assert grant.url == stored["start_url"]
    assert grant.url != meeting.url
    assert fake_of(zoom).calls_to("GET", f"/v2/meetings/{meeting.meeting_id}")
    assert grant.expires_at is not None and grant.expires_at > time.time()


async def test_others_get_their_own_registrant_link_never_the_start_url(
    zoom: ZoomHarness,
) -> None:
    meeting = await zoom.provider.create(a_class())
    host = await zoom.provider.join(meeting, TEACHER)
    student = await zoom.provider.join(meeting, STUDENT)
    co_host = await zoom.provider.join(meeting, CO_HOST)
    again = await zoom.provider.join(meeting, STUDENT)
    assert student.url != host.url and co_host.url != host.url
    assert "zak=" not in student.url and "zak=" not in co_host.url
    assert student.url != co_host.url
    assert again.url == student.url
    calls = fake_of(zoom).calls_to("POST", f"/v2/meetings/{meeting.meeting_id}/registrants")
    email = attendee_email(STUDENT.user_id, zoom.provider.attendee_domain)
    assert calls[0].body == {
        "email": email,
        "first_name": "Ben",
        "last_name": "Ito",
        "auto_approve": True,
    }
    registered = fake_of(zoom).registrant(int(meeting.meeting_id), email)
    assert registered is not None and student.url == registered["join_url"]


def test_attendee_addresses_carry_the_user_id_back_in_any_case() -> None:
    for user_id in ("42", STUDENT.user_id, "Ünï-user", "a" * 38):
        email = attendee_email(user_id, "School.Example")
        local = email.partition("@")[0]
        assert len(local) <= 64
        assert attendee_user_id(email.upper(), "school.example") == user_id
    assert attendee_user_id("ben@gmail.com", "school.example") is None
    assert attendee_user_id("lc-!!!@school.example", "school.example") is None
    with pytest.raises(Invalid):
        attendee_email("a" * 39, "school.example")


# recording


async def test_recording_is_started_and_stopped_with_in_meeting_controls(
    zoom: ZoomHarness,
) -> None:
    meeting = await zoom.provider.create(a_class())
    read(zoom, zoom.webhooks.meeting_started(meeting, at=START))
    await zoom.provider.start_recording(meeting)
    assert fake_of(zoom).cloud_recording[int(meeting.meeting_id)] == "recording.start"
    await zoom.provider.stop_recording(meeting)
    calls = fake_of(zoom).calls_to("PATCH", f"/v2/live_meetings/{meeting.meeting_id}/events")
    assert [c.body for c in calls] == [{"method": "recording.start"}, {"method": "recording.stop"}]


async def test_recording_before_the_meeting_is_live_is_refused(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    with pytest.raises(ProviderError) as refused:
        await zoom.provider.start_recording(meeting)
    assert refused.value.provider_status == 400


async def test_recording_ready_then_the_file_is_streamed_whole(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    content = bytes(range(256)) * 4000
    (event,) = read(zoom, zoom.webhooks.recording_ready(meeting, content))
    assert event.kind is EventKind.RECORDING_READY
    assert event.meeting_id == meeting.meeting_id
    assert event.recording is not None
    assert event.recording.size_bytes == len(content)
    assert event.recording.file_format == "mp4"
    chunks = [chunk async for chunk in zoom.provider.download(event.recording)]
    assert b"".join(chunks) == content
    (download,) = fake_of(zoom).calls_to("GET", "/rec/download/")
    assert download.query["access_token"] == event.recording.headers["Authorization"][7:]


async def test_an_expired_download_token_falls_back_to_the_account_token(
    zoom: ZoomHarness,
) -> None:
    meeting = await zoom.provider.create(a_class())
    content = b"\x00\x01" * 50_000
    (event,) = read(zoom, zoom.webhooks.recording_ready(meeting, content))
    assert event.recording is not None
    fake_of(zoom).download_tokens_valid = False
    assert b"".join([c async for c in zoom.provider.download(event.recording)]) == content
    first, second = fake_of(zoom).calls_to("GET", "/rec/download/")
    assert "access_token" in first.query and second.authorization.startswith("Bearer ")


async def test_a_download_cut_short_is_unavailable(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    (event,) = read(zoom, zoom.webhooks.recording_ready(meeting))
    assert event.recording is not None
    fake_of(zoom).short_downloads = 1
    with pytest.raises(ProviderUnavailable):
        _ = [c async for c in zoom.provider.download(event.recording)]


async def test_a_recording_without_mp4_is_a_failed_recording(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    event = fake_of(zoom).complete_recording(int(meeting.meeting_id), {"audio_only": b"m4a"})
    signed = fake_of(zoom).sign(event)
    (read_event,) = read(zoom, (signed.headers, signed.body))
    assert read_event.kind is EventKind.RECORDING_FAILED and read_event.reason


# webhooks


async def test_attendance_events_carry_the_registered_user_id(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    await zoom.provider.join(meeting, STUDENT)
    joined_at = START + datetime.timedelta(minutes=2)
    left_at = START + datetime.timedelta(minutes=47)
    (joined,) = read(zoom, zoom.webhooks.participant_joined(meeting, STUDENT, at=joined_at))
    (left,) = read(zoom, zoom.webhooks.participant_left(meeting, STUDENT, at=left_at))
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
    assert joined.meeting_id == meeting.meeting_id
    assert joined.connection == left.connection is not None
    assert joined.event_id != left.event_id


async def test_the_same_delivery_twice_has_the_same_event_id(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    await zoom.provider.join(meeting, STUDENT)
    delivery = zoom.webhooks.participant_joined(meeting, STUDENT, at=START)
    assert read(zoom, delivery)[0].event_id == read(zoom, delivery)[0].event_id


async def test_the_host_and_unregistered_guests_have_no_user_id(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    (host,) = read(zoom, zoom.webhooks.participant_joined(meeting, TEACHER, at=START))
    (guest,) = read(zoom, zoom.webhooks.participant_joined(meeting, CO_HOST, at=START))
    assert host.user_id is None and guest.user_id is None


async def test_a_customer_key_names_the_user(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    event = fake_of(zoom).participant_event(
        "meeting.participant_joined",
        int(meeting.meeting_id),
        user_name="SDK user",
        user_id="16778205",
        at="2026-12-20T15:01:00Z",
        customer_key="sdk-user-9",
    )
    signed = fake_of(zoom).sign(event)
    assert read(zoom, (signed.headers, signed.body))[0].user_id == "sdk-user-9"


async def test_meeting_started_and_ended(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    ended_at = START + datetime.timedelta(minutes=61)
    (started,) = read(zoom, zoom.webhooks.meeting_started(meeting, at=START))
    (ended,) = read(zoom, zoom.webhooks.meeting_ended(meeting, at=ended_at))
    assert (started.kind, started.at) == (EventKind.MEETING_STARTED, START)
    assert (ended.kind, ended.at) == (EventKind.MEETING_ENDED, ended_at)


async def test_url_validation_is_answered_as_zoom_checks_it(zoom: ZoomHarness) -> None:
    challenge, plain = fake_of(zoom).url_validation()
    answer = zoom.provider.read_webhook(challenge.headers, challenge.body)
    assert isinstance(answer, Challenge)
    secret = fake_of(zoom).webhook_secret.encode()
    expected = hmac.new(secret, plain.encode(), hashlib.sha256).hexdigest()
    assert answer.answer == {"plainToken": plain, "encryptedToken": expected}


async def test_a_delivery_not_signed_with_the_secret_is_rejected(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    event = fake_of(zoom).meeting_event("meeting.started", int(meeting.meeting_id))
    forged = fake_of(zoom).sign(event, secret="not-the-secret")
    with pytest.raises(WebhookRejected):
        zoom.provider.read_webhook(forged.headers, forged.body)
    good = fake_of(zoom).sign(event)
    tampered = good.body.replace(b"meeting.started", b"meeting.ended")
    with pytest.raises(WebhookRejected):
        zoom.provider.read_webhook(good.headers, tampered)
    with pytest.raises(WebhookRejected):
        zoom.provider.read_webhook({}, good.body)


async def test_a_stale_delivery_is_rejected(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    event = fake_of(zoom).meeting_event("meeting.started", int(meeting.meeting_id))
    stale = fake_of(zoom).sign(event, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookRejected):
        zoom.provider.read_webhook(stale.headers, stale.body)


async def test_events_liveclass_does_not_use_are_read_as_none(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    event = fake_of(zoom).event("meeting.sharing_started", {"id": meeting.meeting_id})
    signed = fake_of(zoom).sign(event)
    assert zoom.provider.read_webhook(signed.headers, signed.body) == []


async def test_a_signed_body_that_is_no_event_is_invalid(zoom: ZoomHarness) -> None:
    signed = fake_of(zoom).sign({"payload": {}})
    with pytest.raises(Invalid):
        zoom.provider.read_webhook(signed.headers, signed.body)


# failures


async def test_zoom_down_is_unavailable(zoom: ZoomHarness) -> None:
    zoom.webhooks.zoom.server.stop()
    with pytest.raises(ProviderUnavailable):
        await zoom.provider.create(a_class())


async def test_zoom_failing_on_its_side_is_unavailable(zoom: ZoomHarness) -> None:
    meeting = await zoom.provider.create(a_class())
    fake_of(zoom).fail_next, fake_of(zoom).fail_status = 1, 503
    with pytest.raises(ProviderUnavailable):
        await zoom.provider.join(meeting, STUDENT)


async def test_a_refusal_is_a_provider_error_with_zooms_reason(zoom: ZoomHarness) -> None:
    fake_of(zoom).fail_next, fake_of(zoom).fail_status = 1, 400
    with pytest.raises(ProviderError) as refused:
        await zoom.provider.create(a_class())
    assert refused.value.provider_status == 400
    assert "told to fail" in refused.value.provider_message


async def test_bad_credentials_are_a_provider_error(zoom: ZoomHarness) -> None:
    fake = fake_of(zoom)
    provider = ZoomProvider.from_values(
        account_id=fake.account_id,
        client_id=fake.client_id,
        client_secret="wrong",
        webhook_secret=fake.webhook_secret,
        api_url=zoom.webhooks.zoom.api_url,
        oauth_url=f"{zoom.webhooks.zoom.url}/oauth/token",
    )
    try:
        with pytest.raises(ProviderError) as refused:
            await provider.create(a_class())
        assert refused.value.provider_code == "invalid_client"
    finally:
        await provider.aclose()


async def test_a_meeting_id_that_is_no_zoom_number_is_invalid(zoom: ZoomHarness) -> None:
    with pytest.raises(Invalid):
        await zoom.provider.end(Meeting("zoom", "../users", "https://zoom.us/j/1"))
