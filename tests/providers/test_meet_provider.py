"""MeetProvider and its Google OAuth token against the fake Google (token endpoint, Meet
REST API, OIDC certificates and Pub/Sub pushes)."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from liveclass.domain.roles import Role
from liveclass.providers.errors import ProviderError, WebhookRejected
from liveclass.providers.hosted import Attendee, EventKind, MeetingSpec
from liveclass.providers.meet import (
    PARTICIPANT_JOINED,
    RECORDING_GENERATED,
    TRANSCRIPT_GENERATED,
    MeetProvider,
)
from liveclass.providers.unsupported import NotSupported
from tests.conftest import make_settings
from tests.providers.hosted_harness_meet import MeetAppHarness
from tests.support.fake_meet import FakeMeet, serve_fake_meet


@pytest.fixture
def fake() -> Iterator[FakeMeet]:
    with serve_fake_meet() as f:
        yield f


@pytest.fixture
async def meet(fake: FakeMeet) -> AsyncIterator[MeetProvider]:
    settings = make_settings("sqlite+aiosqlite://", **MeetAppHarness(fake).settings())
    provider = MeetProvider.from_settings(settings)
    try:
        yield provider
    finally:
        await provider.aclose()


def _spec(*, public: bool = False, recorded: bool = False) -> MeetingSpec:
    return MeetingSpec(
        session_id=uuid.uuid4(),
        title="Algebra",
        starts_at=datetime.datetime.now(datetime.UTC),
        duration_minutes=60,
        max_participants=30,
        waiting_room=True,
        recorded=recorded,
        is_public=public,
        course_id=None,
    )


def _who(user_id: str, name: str, role: Role = Role.VIEWER) -> Attendee:
    return Attendee(uuid.uuid4(), user_id, name, role)


async def test_concurrent_calls_share_one_token_request(meet: MeetProvider, fake: FakeMeet) -> None:
    await asyncio.gather(*(meet.create(_spec()) for _ in range(5)))
    assert fake.token_requests == 1
    assert len(fake.spaces) == 5


async def test_a_revoked_refresh_token_is_a_refusal_with_googles_code(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    fake.refresh_token = "revoked"
    with pytest.raises(ProviderError) as refused:
        await meet.create(_spec())
    assert refused.value.provider_code == "invalid_grant"


async def test_access_type_follows_the_class_and_recorded_classes_auto_record(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    public = await meet.create(_spec(public=True, recorded=True))
    private = await meet.create(_spec())
    open_config = fake.spaces[public.meeting_id]["config"]
    assert open_config["accessType"] == "OPEN"
    auto = open_config["artifactConfig"]["recordingConfig"]["autoRecordingGeneration"]
    assert auto == "ON"
    assert fake.spaces[private.meeting_id]["config"]["accessType"] == "RESTRICTED"
    assert "artifactConfig" not in fake.spaces[private.meeting_id]["config"]
    assert public.url == fake.spaces[public.meeting_id]["meetingUri"]
    await meet.update(private, _spec(public=True))
    assert fake.spaces[private.meeting_id]["config"]["accessType"] == "OPEN"


async def test_everyone_gets_the_meeting_uri_and_recording_controls_are_not_supported(
    meet: MeetProvider,
) -> None:
    meeting = await meet.create(_spec())
    host = await meet.join(meeting, _who("t-1", "Teacher", Role.HOST))
    student = await meet.join(meeting, _who("s-1", "Student"))
    assert host.url == student.url == meeting.url and host.token is None
    with pytest.raises(NotSupported):
        await meet.start_recording(meeting)


async def test_end_ends_the_active_conference_and_no_conference_counts_as_ended(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    meeting = await meet.create(_spec())
    await meet.end(meeting)  # nothing running: FAILED_PRECONDITION, fine
    record = fake.start_conference(meeting.meeting_id, time.time())
    await meet.end(meeting)
    assert "endTime" in fake.records[record]
    assert fake.calls[-1].path == f"/spaces/{meeting.meeting_id}:endActiveConference"


async def test_attendance_is_read_from_the_records_and_matched_by_display_name(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    meeting = await meet.create(_spec())
    await meet.join(meeting, _who("s-1", "Ada Lovelace"))
    now = time.time()
    record = fake.start_conference(meeting.meeting_id, now - 600)
    session = fake.attend(record, "ada  lovelace", now - 500, now - 200)
    fake.attend(record, "Someone Else", now - 400, None)
    events = await meet.attendance(meeting)
    kinds = [(e.kind, e.user_id) for e in events]
    assert kinds == [
        (EventKind.PARTICIPANT_JOINED, "s-1"),
        (EventKind.PARTICIPANT_JOINED, None),
        (EventKind.PARTICIPANT_LEFT, "s-1"),
    ]
    ada = [e for e in events if e.user_id == "s-1"]
    assert (ada[1].at - ada[0].at).total_seconds() == pytest.approx(300, abs=0.01)
    assert {e.connection for e in ada} == {session}
    # a push about a participant read before is matched too
    body, headers = fake.push(
        PARTICIPANT_JOINED, meeting.meeting_id, {"participantSession": {"name": session}}, at=now
    )
    (pushed,) = meet.read_webhook(headers, body)  # type: ignore[misc]
    assert pushed.user_id == "s-1" and pushed.meeting_id == meeting.meeting_id


async def test_a_push_for_another_audience_is_refused(meet: MeetProvider, fake: FakeMeet) -> None:
    token = fake.oidc_token(audience="https://elsewhere.example/push")
    body, headers = fake.push(PARTICIPANT_JOINED, "s", {}, at=time.time(), token=token)
    with pytest.raises(WebhookRejected):
        meet.read_webhook(headers, body)
    with pytest.raises(WebhookRejected):
        meet.read_webhook({}, body)


async def test_a_generated_recording_points_at_its_drive_export(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    data = {
        "recording": {
            "name": "conferenceRecords/r/recordings/x",
            "state": "FILE_GENERATED",
            "driveDestination": {"file": "drive-file-1", "exportUri": "https://drive/export/1"},
        }
    }
    body, headers = fake.push(RECORDING_GENERATED, "space-1", data, at=time.time())
    (ready,) = meet.read_webhook(headers, body)  # type: ignore[misc]
    assert ready.kind is EventKind.RECORDING_READY
    assert ready.recording is not None
    assert ready.recording.download_url == "https://drive/export/1"
    assert ready.recording.recording_id == "drive-file-1"


async def test_a_file_on_record_and_its_push_carry_one_event_id(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    meeting = await meet.create(_spec(recorded=True))
    record = fake.start_conference(meeting.meeting_id, time.time() - 60)
    name = fake.record_file(record, b"mp4 bytes", at=time.time())
    (on_record,) = await meet.recordings(meeting)
    assert on_record.kind is EventKind.RECORDING_READY and on_record.recording is not None
    assert on_record.recording.download_url.startswith(f"{fake.url}/drive/")
    (pushed_resource,) = fake.records[record]["_recordings"]
    body, headers = fake.push(
        RECORDING_GENERATED, meeting.meeting_id, {"recording": pushed_resource}, at=time.time()
    )
    (pushed,) = meet.read_webhook(headers, body)  # type: ignore[misc]
    assert pushed.event_id == on_record.event_id == f"{name}/file"
    assert b"".join([chunk async for chunk in meet.download(on_record.recording)]) == b"mp4 bytes"


async def test_a_written_transcript_is_its_docs_link_under_the_records_id(
    meet: MeetProvider, fake: FakeMeet
) -> None:
    meeting = await meet.create(_spec(recorded=True))
    record = fake.start_conference(meeting.meeting_id, time.time() - 60)
    name, link = fake.record_transcript(record, at=time.time())
    (on_record,) = [e for e in await meet.recordings(meeting) if e.link is not None]
    assert on_record.kind is EventKind.TRANSCRIPT_READY and on_record.link == link
    (resource,) = fake.records[record]["_transcripts"]
    body, headers = fake.push(
        TRANSCRIPT_GENERATED, meeting.meeting_id, {"transcript": resource}, at=time.time()
    )
    (pushed,) = meet.read_webhook(headers, body)  # type: ignore[misc]
    assert (pushed.kind, pushed.link, pushed.event_id) == (
        EventKind.TRANSCRIPT_READY,
        link,
        on_record.event_id,
    )
    assert on_record.event_id == f"{name}/file"


# -- a service account with domain-wide delegation -------------------------------------


def _delegated_settings(
    fake: FakeMeet, key_file: Path, *, user: str = "teacher@school.example"
) -> dict[str, Any]:
    settings = MeetAppHarness(fake).settings()
    for refresh_only in ("google_client_id", "google_client_secret", "google_refresh_token"):
        del settings[refresh_only]
    return {**settings, "google_service_account_file": key_file, "google_delegated_user": user}


@pytest.fixture
def key_file(fake: FakeMeet, tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(fake.service_account_key()))
    return path


async def test_a_delegated_service_account_acts_as_its_user(fake: FakeMeet, key_file: Path) -> None:
    settings = make_settings("sqlite+aiosqlite://", **_delegated_settings(fake, key_file))
    assert settings.hosted_missing("meet") == []
    provider = MeetProvider.from_settings(settings)
    try:
        await asyncio.gather(*(provider.create(_spec()) for _ in range(3)))
    finally:
        await provider.aclose()
    assert len(fake.spaces) == 3 and fake.token_requests == 1
    (claims,) = fake.assertions  # checked by the fake with the account's public key
    assert claims["iss"] == fake.account_email
    assert claims["sub"] == "teacher@school.example"
    assert claims["aud"] == f"{fake.url}/token"
    assert claims["exp"] - claims["iat"] == 3600
    assert "https://www.googleapis.com/auth/meetings.space.created" in claims["scope"].split()


async def test_a_user_the_admin_did_not_delegate_is_googles_refusal(
    fake: FakeMeet, key_file: Path
) -> None:
    values = _delegated_settings(fake, key_file, user="someone@else.example")
    provider = MeetProvider.from_settings(make_settings("sqlite+aiosqlite://", **values))
    try:
        with pytest.raises(ProviderError) as refused:
            await provider.create(_spec())
    finally:
        await provider.aclose()
    assert refused.value.provider_code == "unauthorized_client"
    assert fake.spaces == {}


async def test_a_key_signed_by_another_account_is_refused(fake: FakeMeet, tmp_path: Path) -> None:
    other = FakeMeet()
    other.url = fake.url
    key = {**other.service_account_key(), "client_email": fake.account_email}
    path = tmp_path / "stolen.json"
    path.write_text(json.dumps({**key, "private_key_id": fake.account_key_id}))
    provider = MeetProvider.from_settings(
        make_settings("sqlite+aiosqlite://", **_delegated_settings(fake, path))
    )
    try:
        with pytest.raises(ProviderError) as refused:
            await provider.create(_spec())
    finally:
        await provider.aclose()
    assert refused.value.provider_code == "invalid_grant"


def test_the_service_account_needs_its_user_and_a_real_key(
    fake: FakeMeet, key_file: Path, tmp_path: Path
) -> None:
    values = _delegated_settings(fake, key_file)
    del values["google_delegated_user"]
    settings = make_settings("sqlite+aiosqlite://", **values)
    assert settings.hosted_missing("meet") == ["GOOGLE_DELEGATED_USER"]
    not_a_key = tmp_path / "key.json"
    not_a_key.write_text(json.dumps({"type": "authorized_user", "client_id": "x"}))
    with pytest.raises(ValueError, match="not a service account key"):
        MeetProvider.from_settings(
            make_settings("sqlite+aiosqlite://", **_delegated_settings(fake, not_a_key))
        )
