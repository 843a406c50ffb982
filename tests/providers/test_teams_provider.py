"""TeamsProvider, its Graph client and its client-credentials token against the fake
Microsoft Graph (identity platform, online meetings, attendance reports), and its change
notifications through the app's webhook endpoint."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from liveclass.app import create_app
from liveclass.control.hosted_attendance import read_due
from liveclass.db.tables import HOSTED_MEETINGS
from liveclass.db.types import utcnow
from liveclass.domain.roles import Role
from liveclass.providers.access_tokens import REFRESH_MARGIN
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from liveclass.providers.hosted import Attendee, Challenge, EventKind, MeetingSpec, RecordingFile
from liveclass.providers.teams import TeamsProvider
from liveclass.providers.teams_api import ClientCredentials, GraphClient, TeamsTokenSource
from liveclass.providers.transport import ProviderTransport
from liveclass.providers.unsupported import NotSupported
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, Platform, make_settings
from tests.providers.hosted_harness import deliver
from tests.providers.hosted_harness_teams import TeamsAppHarness
from tests.support.fake_teams import FakeTeams, serve_fake_teams

START = datetime.datetime(
    2026, 12, 20, 16, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
)
TEACHER = ("teacher-1", "teacher")


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeTeams]:
    with serve_fake_teams() as f:
        yield f


@pytest.fixture
async def teams(fake: FakeTeams) -> AsyncIterator[TeamsProvider]:
    settings = make_settings("sqlite+aiosqlite://", **TeamsAppHarness(fake).settings())
    provider = TeamsProvider.from_settings(settings)
    try:
        yield provider
    finally:
        await provider.aclose()


def _provider(fake: FakeTeams, clock: ManualClock, *, secret: str | None = None) -> TeamsProvider:
    transport = ProviderTransport("Microsoft Teams", timeout=2.0, max_retry_wait=1.0)
    credentials = ClientCredentials(fake.tenant_id, fake.client_id, secret or fake.client_secret)
    tokens = TeamsTokenSource(credentials, http=transport.http, login_url=fake.url, clock=clock)
    client = GraphClient(
        f"{fake.url}/v1.0", organizer=fake.organizer, tokens=tokens, transport=transport
    )
    return TeamsProvider(client, client_state=fake.client_state)


def _spec(*, waiting_room: bool = True, recorded: bool = False, minutes: int = 60) -> MeetingSpec:
    return MeetingSpec(
        session_id=uuid.uuid4(),
        title="Spanish conversation",
        starts_at=START,
        duration_minutes=minutes,
        max_participants=30,
        waiting_room=waiting_room,
        recorded=recorded,
        is_public=False,
        course_id=None,
    )


def _who(name: str, role: Role = Role.VIEWER) -> Attendee:
    return Attendee(uuid.uuid4(), name.lower(), name, role)


# meetings


async def test_create_sends_subject_times_lobby_and_auto_recording(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec(recorded=True))
    (create,) = fake.calls_to("POST", "/onlineMeetings")
    assert create.path == f"/users/{fake.organizer}/onlineMeetings"
    assert create.body == {
        "subject": "Spanish conversation",
        "startDateTime": "2026-12-20T15:00:00.0000000Z",
        "endDateTime": "2026-12-20T16:00:00.0000000Z",
        "lobbyBypassSettings": {"scope": "organizer", "isDialInBypassEnabled": False},
        "recordAutomatically": True,
    }
    made = fake.meetings[meeting.meeting_id]
    assert meeting.url == made["joinWebUrl"] and len(meeting.meeting_id) > 128


async def test_without_a_waiting_room_everyone_bypasses_the_lobby(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec(waiting_room=False))
    lobby = fake.meetings[meeting.meeting_id]["lobbyBypassSettings"]
    assert lobby["scope"] == "everyone"
    assert fake.meetings[meeting.meeting_id]["recordAutomatically"] is False


async def test_a_reschedule_patches_the_meeting(teams: TeamsProvider, fake: FakeTeams) -> None:
    meeting = await teams.create(_spec())
    changed = await teams.update(meeting, _spec(waiting_room=False, minutes=90))
    (patch,) = fake.calls_to("PATCH", "/onlineMeetings/")
    assert patch.path == f"/users/{fake.organizer}/onlineMeetings/{meeting.meeting_id}"
    assert patch.body["endDateTime"] == "2026-12-20T16:30:00.0000000Z"
    assert fake.meetings[meeting.meeting_id]["lobbyBypassSettings"]["scope"] == "everyone"
    assert changed.url == meeting.url and changed.meeting_id == meeting.meeting_id


async def test_cancel_deletes_and_a_meeting_already_gone_counts_as_deleted(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec())
    await teams.delete(meeting)
    assert meeting.meeting_id not in fake.meetings
    await teams.delete(meeting)  # 404: done already
    await teams.end(meeting)  # 404: nothing left to end
    assert [c.method for c in fake.calls[1:]] == ["DELETE", "DELETE", "PATCH"]


async def test_end_sends_late_comers_to_the_lobby(teams: TeamsProvider, fake: FakeTeams) -> None:
    meeting = await teams.create(_spec(waiting_room=False))
    await teams.end(meeting)
    assert fake.meetings[meeting.meeting_id]["lobbyBypassSettings"]["scope"] == "organizer"


async def test_a_meeting_answered_without_its_link_is_deleted_again(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    fake.without_join_url = True
    with pytest.raises(ProviderUnavailable, match="joinWebUrl"):
        await teams.create(_spec())
    assert fake.meetings == {}
    assert [c.method for c in fake.calls] == ["POST", "DELETE"]


async def test_everyone_gets_the_join_link_and_recording_is_not_supported(
    teams: TeamsProvider,
) -> None:
    meeting = await teams.create(_spec())
    host = await teams.join(meeting, _who("Teacher", Role.HOST))
    student = await teams.join(meeting, _who("Student"))
    assert host.url == student.url == meeting.url and host.token is None
    with pytest.raises(NotSupported):
        await teams.start_recording(meeting)
    with pytest.raises(NotSupported):
        await teams.stop_recording(meeting)
    with pytest.raises(NotSupported):
        async for _ in teams.download(RecordingFile("r", "https://example.invalid/r")):
            pass


# tokens


async def test_the_token_is_client_credentials_for_graph_in_the_tenant(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    await asyncio.gather(*(teams.create(_spec()) for _ in range(5)))
    assert fake.token_requests == 1
    (token,) = fake.tokens
    assert {c.authorization for c in fake.calls} == {f"Bearer {token}"}


async def test_the_token_is_renewed_before_it_expires(fake: FakeTeams) -> None:
    clock = ManualClock()
    teams = _provider(fake, clock)
    try:
        meeting = await teams.create(_spec())
        clock.now += fake.expires_in - REFRESH_MARGIN - 1
        await teams.update(meeting, _spec())
        assert fake.token_requests == 1
        clock.now += 2  # inside the margin before Microsoft's expiry
        await teams.update(meeting, _spec())
        assert fake.token_requests == 2
    finally:
        await teams.aclose()


async def test_a_refused_token_is_dropped_and_the_call_tried_once_more(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec())
    fake.revoke_tokens()
    await teams.update(meeting, _spec(minutes=30))
    assert fake.token_requests == 2
    assert len(fake.calls_to("PATCH", "/onlineMeetings/")) == 2


async def test_a_wrong_secret_is_microsofts_refusal(fake: FakeTeams) -> None:
    teams = _provider(fake, ManualClock(), secret="not-the-secret")
    try:
        with pytest.raises(ProviderError) as refused:
            await teams.create(_spec())
    finally:
        await teams.aclose()
    assert (refused.value.provider_status, refused.value.provider_code) == (401, "invalid_client")
    assert "AADSTS7000215" in refused.value.provider_message
    assert fake.calls == []


# failures


async def test_a_429_is_waited_out_once_then_unavailable(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    fake.fail_next, fake.fail_status, fake.retry_after = 1, 429, "0"
    await teams.create(_spec())
    fake.fail_next = 2
    with pytest.raises(ProviderUnavailable, match="rate limited"):
        await teams.create(_spec())
    fake.fail_next, fake.retry_after = 1, "3600"  # longer than a request may wait
    with pytest.raises(ProviderUnavailable, match="3600"):
        await teams.create(_spec())


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_unavailable(teams: TeamsProvider, fake: FakeTeams, status: int) -> None:
    fake.fail_next, fake.fail_status = 1, status
    with pytest.raises(ProviderUnavailable, match="injected failure") as down:
        await teams.create(_spec())
    assert (down.value.status, down.value.code) == (503, "PROVIDER_UNAVAILABLE")


async def test_a_4xx_is_a_refusal_with_graphs_code_and_message(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    fake.access_policy = False  # no application access policy for the organizer
    with pytest.raises(ProviderError) as refused:
        await teams.create(_spec())
    error = refused.value
    assert (error.provider_status, error.provider_code) == (403, "Forbidden")
    assert "application access policy" in error.provider_message
    assert (error.status, error.code) == (502, "PROVIDER_UNAVAILABLE")


async def test_graph_down_is_unavailable(fake: FakeTeams) -> None:
    clock = ManualClock()
    teams = _provider(fake, clock)
    try:
        meeting = await teams.create(_spec())
        teams.client.graph_url = "http://127.0.0.1:9/v1.0"  # nothing listens there
        with pytest.raises(ProviderUnavailable, match="ConnectError"):
            await teams.attendance(meeting)
    finally:
        await teams.aclose()


# attendance


async def test_attendance_reports_become_joins_and_leaves_with_stable_ids(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec())
    now = time.time()
    first = fake.report(meeting.meeting_id, now - 3600, now - 3000)
    fake.attend(meeting.meeting_id, first, "Ada Lovelace", [(now - 3500, now - 3400)])
    fake.attend(
        meeting.meeting_id, first, "Organizer", [(now - 3600, now - 3000)], role="Organizer"
    )
    fake.attend(meeting.meeting_id, first, "Grace Hopper", [(now - 3550, now - 3500)])
    second = fake.report(meeting.meeting_id, now - 600, now)
    fake.attend(
        meeting.meeting_id, second, "Ada Lovelace", [(now - 500, now - 400), (now - 300, None)]
    )
    events = await teams.attendance(meeting)
    ada = [
        (e.kind, round(e.at.timestamp() - now, 3))
        for e in events
        if e.display_name == "Ada Lovelace"
    ]
    assert ada == [
        (EventKind.PARTICIPANT_JOINED, -3500),
        (EventKind.PARTICIPANT_LEFT, -3400),
        (EventKind.PARTICIPANT_JOINED, -500),
        (EventKind.PARTICIPANT_LEFT, -400),
        (EventKind.PARTICIPANT_JOINED, -300),  # still there
    ]
    assert len(events) == 9  # three records on two pages, then one of two intervals
    assert all(e.meeting_id == meeting.meeting_id and e.user_id is None for e in events)
    # each interval's join and leave share a connection; a second read gives the same ids
    spans = {e.connection for e in events}
    assert len(spans) == 5
    again = await teams.attendance(meeting)
    assert [e.event_id for e in again] == [e.event_id for e in events]
    assert len(fake.calls_to("GET", "/attendanceRecords")) == 2 * 3  # first report paged


# change notifications, through the app


@pytest.fixture
async def app_client(
    database_url: str, fake: FakeTeams, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = make_settings(
        database_url, recordings_dir=str(tmp_path / "rec"), **TeamsAppHarness(fake).settings()
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client, app.state.services


async def test_the_validation_token_is_echoed_as_plain_text(
    app_client: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _ = app_client
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    r = await client.post(
        "/api/v1/providers/teams/webhook",
        params={"validationToken": token},
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == token


async def test_notifications_start_and_end_the_class_once_each(
    app_client: tuple[httpx.AsyncClient, Any], fake: FakeTeams, platform: Platform
) -> None:
    client, _ = app_client
    created = await client.post(
        "/api/v1/sessions", json=session_body(provider="teams"), headers=platform.auth(*TEACHER)
    )
    sid, meeting_id = created.json()["id"], TeamsAppHarness(fake).meeting_id(created.json())
    started = fake.notification(meeting_id, "callStarted", time.time())
    assert (await deliver(client, "teams", started)).json()["outcome"] == "applied"
    assert (await deliver(client, "teams", started)).json()["outcome"] == "duplicate"
    got = await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert got.json()["status"] == "live"
    roster = fake.notification(meeting_id, "rosterUpdated", time.time())
    assert (await deliver(client, "teams", roster)).json()["outcome"] == "ignored"
    ended = fake.notification(meeting_id, "callEnded", time.time())
    assert (await deliver(client, "teams", ended)).status_code == 200
    got = await client.get(f"/api/v1/sessions/{sid}", headers=platform.auth(*TEACHER))
    assert (got.json()["status"], got.json()["end_reason"]) == ("ended", "ended_on_provider")


async def test_a_notification_without_our_client_state_is_refused(
    app_client: tuple[httpx.AsyncClient, Any], fake: FakeTeams, platform: Platform
) -> None:
    client, _ = app_client
    created = await client.post(
        "/api/v1/sessions", json=session_body(provider="teams"), headers=platform.auth(*TEACHER)
    )
    meeting_id = TeamsAppHarness(fake).meeting_id(created.json())
    forged = fake.notification(meeting_id, "callEnded", time.time(), client_state="guessed")
    r = await deliver(client, "teams", forged)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_WEBHOOK_SIGNATURE"
    got = await client.get(
        f"/api/v1/sessions/{created.json()['id']}", headers=platform.auth(*TEACHER)
    )
    assert got.json()["status"] == "scheduled"


async def test_expired_subscriptions_and_bodies_that_are_no_notification_are_refused(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec())
    body, headers = fake.notification(
        meeting.meeting_id, "callStarted", time.time(), expires=time.time() - 3600
    )
    with pytest.raises(WebhookRejected, match="expired"):
        teams.read_webhook(headers, body)
    for junk in (b"", b"[]", b'{"value": []}', b"not json"):
        with pytest.raises(WebhookRejected):
            teams.read_webhook({}, junk)
    assert teams.query_challenge({}) is None
    assert teams.query_challenge({"validationToken": "t"}) == Challenge(text="t")


async def test_a_notification_names_the_meeting_by_its_join_link(
    teams: TeamsProvider, fake: FakeTeams
) -> None:
    meeting = await teams.create(_spec())
    body, headers = fake.notification(meeting.meeting_id, "callEnded", time.time())
    (event,) = teams.read_webhook(headers, body)  # type: ignore[misc]
    assert event.kind is EventKind.MEETING_ENDED
    assert event.url == meeting.url and event.meeting_id == ""
    # Graph's lifecycle notifications (about the subscription) change nothing
    lifecycle = (
        b'{"value": [{"lifecycleEvent": "reauthorizationRequired", "clientState": "'
        + fake.client_state.encode()
        + b'", "subscriptionId": "s"}]}'
    )
    assert teams.read_webhook({}, lifecycle) == []


# attendance reports, through the app


async def test_recorded_attendance_is_clipped_to_the_class_and_a_later_leave_shortens_it(
    app_client: tuple[httpx.AsyncClient, Any], fake: FakeTeams, platform: Platform
) -> None:
    client, services = app_client
    created = await client.post(
        "/api/v1/sessions", json=session_body(provider="teams"), headers=platform.auth(*TEACHER)
    )
    sid, meeting_id = created.json()["id"], TeamsAppHarness(fake).meeting_id(created.json())
    started = await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    begun = datetime.datetime.fromisoformat(started.json()["started_at"]).timestamp()
    people = [("student-1", "Ada Lovelace"), ("student-2", "Sam"), ("student-3", "Sam")]
    for user, name in people:
        joined = await client.post(
            f"/api/v1/sessions/{sid}/join", headers=platform.auth(user, "student", name=name)
        )
        assert joined.status_code == 200
    report = fake.report(meeting_id, begun - 120, begun + 1)
    # in the lobby before the class began, and still there by the report
    fake.attend(meeting_id, report, "Ada Lovelace", [(begun - 100, None)])
    fake.attend(meeting_id, report, "Sam", [(begun + 0.1, begun + 0.6)])  # which Sam?
    await asyncio.sleep(max(0.0, begun + 1.0 - time.time()))
    ended = await client.post(f"/api/v1/sessions/{sid}/end", headers=platform.auth(*TEACHER))
    lasted = datetime.datetime.fromisoformat(ended.json()["ended_at"]).timestamp() - begun
    assert await _totals(client, platform, sid) == {
        "student-1": pytest.approx(lasted, abs=0.01),
        "student-2": 0.0,
        "student-3": 0.0,
    }
    # the report filled in: Ada left half a second into the class
    interval = fake.records[report][0]["attendanceIntervals"][0]
    interval["leaveDateTime"] = datetime.datetime.fromtimestamp(begun + 0.5, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    async with services.db.transaction() as tx:
        await tx.run(update(HOSTED_MEETINGS).values(attendance_due_at=utcnow()))
    assert await read_due(services) == 1
    totals = await _totals(client, platform, sid)
    assert totals["student-1"] == pytest.approx(0.5, abs=0.01)


async def _totals(client: httpx.AsyncClient, platform: Platform, sid: str) -> dict[str, float]:
    stats = await client.get(f"/api/v1/sessions/{sid}/stats", headers=platform.auth(*TEACHER))
    attendance = stats.json()["attendance"]
    return {a["user_id"]: a["total_seconds"] for a in attendance if a["role"] != "host"}
