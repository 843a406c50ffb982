"""liveclass's Daily wire code against Daily's documented contract: the REST client against
a local server implementing rooms, meeting tokens and recordings, and webhooks signed as
Daily signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest

from liveclass.domain.errors import Invalid
from liveclass.providers.daily_api import DAILY_API_URL, DailyClient
from liveclass.providers.daily_webhooks import (
    DEFAULT_TOLERANCE,
    PARTICIPANT_LEFT,
    RECORDING_READY,
    parse_event,
    read_webhook,
    verify_signature,
    webhook_signature,
)
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from tests.support.fake_daily import FakeDaily, serve_fake_daily
from tests.support.loopback_app import LoopbackApp

KEY = "daily-api-key-for-the-liveclass-tests-000"
HOUR = 3600


@pytest.fixture
def daily() -> Iterator[tuple[FakeDaily, LoopbackApp]]:
    with serve_fake_daily(KEY) as running:
        yield running


@pytest.fixture
def fake(daily: tuple[FakeDaily, LoopbackApp]) -> FakeDaily:
    return daily[0]


@pytest.fixture
async def client(daily: tuple[FakeDaily, LoopbackApp]) -> AsyncIterator[DailyClient]:
    dc = DailyClient(KEY, api_url=daily[1].url + "/v1", timeout=2.0, max_retry_wait=1.0)
    yield dc
    await dc.aclose()


def later(seconds: int = HOUR) -> int:
    return int(time.time()) + seconds


def test_the_default_base_url_is_dailys() -> None:
    assert DAILY_API_URL == "https://api.daily.co/v1"


# rooms


async def test_create_room_is_private_with_expiry_size_and_recording(
    client: DailyClient, fake: FakeDaily
) -> None:
    exp, nbf = later(), later(-60)
    room = await client.create_room(
        name="algebra-1", exp=exp, nbf=nbf, max_participants=30, recorded=True
    )
    assert room.name == "algebra-1"
    assert room.url == f"{fake.domain_url}/algebra-1"
    assert room.privacy == "private"
    sent = fake.calls[-1]
    assert (sent.method, sent.path) == ("POST", "/rooms")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["privacy"] == "private"
    assert sent.body["properties"] == {
        "exp": exp,
        "nbf": nbf,
        "max_participants": 30,
        "enable_recording": "cloud",
        "eject_at_room_exp": True,
    }


async def test_an_unrecorded_room_does_not_enable_recording(
    client: DailyClient, fake: FakeDaily
) -> None:
    room = await client.create_room(exp=later())
    assert "enable_recording" not in fake.rooms[room.name]["config"]
    assert "name" not in fake.calls[-1].body  # Daily names it


async def test_update_room_changes_only_the_given_properties(
    client: DailyClient, fake: FakeDaily
) -> None:
    await client.create_room(name="moved", exp=later(), max_participants=10)
    new_exp = later(2 * HOUR)
    room = await client.update_room("moved", exp=new_exp)
    assert room.config["exp"] == new_exp
    assert room.config["max_participants"] == 10
    assert fake.calls[-1].body == {"properties": {"exp": new_exp}}
    assert (await client.get_room("moved")).config["exp"] == new_exp


async def test_delete_room_then_again_is_already_gone(client: DailyClient, fake: FakeDaily) -> None:
    await client.create_room(name="cancelled", exp=later())
    assert await client.delete_room("cancelled") is True
    assert "cancelled" not in fake.rooms
    assert await client.delete_room("cancelled") is False


async def test_an_expired_room_counts_as_deleted(client: DailyClient, fake: FakeDaily) -> None:
    await client.create_room(name="old", exp=later())
    fake.rooms["old"]["config"]["exp"] = int(time.time()) - 10
    assert await client.delete_room("old") is False


async def test_a_refusal_carries_dailys_error_and_info(client: DailyClient) -> None:
    await client.create_room(name="twice", exp=later())
    with pytest.raises(ProviderError) as refused:
        await client.create_room(name="twice", exp=later())
    assert refused.value.provider_status == 400
    assert refused.value.provider_code == "invalid-request-error"
    assert "already exists" in refused.value.provider_message


async def test_a_wrong_api_key_is_an_authentication_error(
    daily: tuple[FakeDaily, LoopbackApp],
) -> None:
    wrong = DailyClient("not-the-key", api_url=daily[1].url + "/v1", timeout=2.0)
    with pytest.raises(ProviderError) as refused:
        await wrong.create_room(exp=later())
    await wrong.aclose()
    assert (refused.value.provider_status, refused.value.provider_code) == (
        401,
        "authentication-error",
    )


async def test_room_names_cannot_reach_another_path(client: DailyClient, fake: FakeDaily) -> None:
    with pytest.raises(ProviderError) as refused:
        await client.get_room("../meeting-tokens")
    assert refused.value.provider_status == 404
    assert fake.calls[-1].path == "/rooms/..%2Fmeeting-tokens"


# meeting tokens


async def test_meeting_tokens_per_person_validate_at_daily(
    client: DailyClient, fake: FakeDaily
) -> None:
    await client.create_room(name="class", exp=later())
    exp = later()
    host = await client.meeting_token(
        room_name="class", user_name="Ada", user_id="u-1", is_owner=True, exp=exp
    )
    student = await client.meeting_token(
        room_name="class", user_name="Bob", user_id="u-2", is_owner=False, exp=exp
    )
    assert host != student
    assert await client.token_properties(host) == {
        "room_name": "class",
        "is_owner": True,
        "user_name": "Ada",
        "user_id": "u-1",
        "exp": exp,
    }
    assert (await client.token_properties(student))["is_owner"] is False
    # the self-signed format Daily documents: HS256 with the API key, abbreviated claims
    claims = jwt.decode(student, KEY, algorithms=["HS256"])
    assert (claims["r"], claims["o"], claims["u"], claims["ud"]) == ("class", False, "Bob", "u-2")


async def test_a_forged_token_does_not_validate(client: DailyClient) -> None:
    forged = jwt.encode(
        {"r": "class", "o": True}, "another-key-of-thirty-two-bytes-00000", algorithm="HS256"
    )
    with pytest.raises(ProviderError) as refused:
        await client.token_properties(forged)
    assert refused.value.provider_status == 400


# recordings


async def test_recording_start_stop_list_get_and_download(
    client: DailyClient, fake: FakeDaily
) -> None:
    await client.create_room(name="recorded", exp=later(), recorded=True)
    recording_id = await client.start_recording("recorded")
    assert recording_id is not None
    assert fake.calls[-1].path == "/rooms/recorded/recordings/start"
    assert (await client.get_recording(recording_id)).status == "in-progress"
    await client.stop_recording("recorded")
    recording = await client.get_recording(recording_id)
    assert recording.status == "finished"
    assert recording.room_name == "recorded"
    assert recording.duration is not None and recording.duration >= 1
    listed = await client.list_recordings(room_name="recorded")
    assert [r.id for r in listed] == [recording_id]
    assert fake.calls[-1].query == {"room_name": "recorded"}
    link = await client.access_link(recording_id)
    assert link.expires > time.time()
    async with httpx.AsyncClient() as http:
        downloaded = await http.get(link.download_link)
    assert downloaded.status_code == 200
    assert downloaded.content == fake.recordings[recording_id].content


async def test_stop_without_a_running_recording_is_refused(client: DailyClient) -> None:
    await client.create_room(name="quiet", exp=later(), recorded=True)
    with pytest.raises(ProviderError) as refused:
        await client.stop_recording("quiet")
    assert refused.value.provider_status == 400


async def test_recording_an_unrecorded_room_is_refused(client: DailyClient) -> None:
    await client.create_room(name="private-talk", exp=later())
    with pytest.raises(ProviderError):
        await client.start_recording("private-talk")


async def test_an_unknown_recording_is_not_found(client: DailyClient) -> None:
    with pytest.raises(ProviderError) as refused:
        await client.access_link("no-such-recording")
    assert (refused.value.provider_status, refused.value.provider_code) == (404, "not-found")


async def test_an_unknown_recording_type_is_refused_before_calling(
    client: DailyClient, fake: FakeDaily
) -> None:
    with pytest.raises(ValueError, match="recording type"):
        await client.start_recording("room", recording_type="vhs")
    assert fake.calls == []


# failures


async def test_a_daily_that_is_down_is_provider_unavailable(
    daily: tuple[FakeDaily, LoopbackApp], client: DailyClient
) -> None:
    daily[1].stop()
    with pytest.raises(ProviderUnavailable) as down:
        await client.create_room(exp=later())
    assert down.value.code == "PROVIDER_UNAVAILABLE"
    assert down.value.status == 503
    daily[1].start()
    assert (await client.create_room(exp=later())).url


async def test_a_5xx_is_provider_unavailable_with_dailys_text(
    client: DailyClient, fake: FakeDaily
) -> None:
    fake.fail_next, fake.fail_status = 1, 502
    with pytest.raises(ProviderUnavailable) as failed:
        await client.create_room(exp=later())
    assert "502" in failed.value.detail
    assert "injected 502" in failed.value.detail


async def test_429_is_retried_once_after_retry_after(client: DailyClient, fake: FakeDaily) -> None:
    fake.fail_next, fake.fail_status, fake.retry_after = 1, 429, "0"
    room = await client.create_room(name="after-a-wait", exp=later())
    assert room.name == "after-a-wait"
    assert [c.path for c in fake.calls] == ["/rooms", "/rooms"]


async def test_429_twice_is_provider_unavailable(client: DailyClient, fake: FakeDaily) -> None:
    fake.fail_next, fake.fail_status, fake.retry_after = 2, 429, "0"
    with pytest.raises(ProviderUnavailable, match="429"):
        await client.create_room(exp=later())
    assert len(fake.calls) == 2


async def test_429_asking_longer_than_the_cap_is_not_waited(
    client: DailyClient, fake: FakeDaily
) -> None:
    fake.fail_next, fake.fail_status, fake.retry_after = 1, 429, "120"
    with pytest.raises(ProviderUnavailable, match="retry after: 120"):
        await client.create_room(exp=later())
    assert len(fake.calls) == 1


async def test_a_stalled_daily_times_out(daily: tuple[FakeDaily, LoopbackApp]) -> None:
    fake, server = daily
    fake.stall_next, fake.stall_seconds = 1, 3.0
    impatient = DailyClient(KEY, api_url=server.url + "/v1", timeout=0.3)
    with pytest.raises(ProviderUnavailable, match="Timeout"):
        await impatient.create_room(exp=later())
    await impatient.aclose()


# webhooks


def participant_left(fake: FakeDaily) -> dict[str, object]:
    return fake.event(
        PARTICIPANT_LEFT,
        {
            "room": "class",
            "session_id": "s-1",
            "user_id": "u-2",
            "user_name": "Bob",
            "owner": False,
            "joined_at": 1_700_000_000,
            "duration": 1800,
        },
    )


def test_a_signed_webhook_is_read(fake: FakeDaily) -> None:
    delivery = fake.sign_webhook(participant_left(fake))
    event = read_webhook(secret=fake.webhook_secret, headers=delivery.headers, body=delivery.body)
    assert event is not None
    assert event.type == PARTICIPANT_LEFT
    left = event.participant()
    assert (left.room, left.session_id, left.user_id, left.duration) == (
        "class",
        "s-1",
        "u-2",
        1800,
    )


def test_the_signature_is_base64_hmac_sha256_of_timestamp_dot_body() -> None:
    # computed by hand from the recipe, independent of the fake and of the code under test
    secret = base64.b64encode(b"k" * 32).decode()
    expected = base64.b64encode(
        hmac.new(b"k" * 32, b'1700000000.{"a":1}', hashlib.sha256).digest()
    ).decode()
    assert webhook_signature(secret, "1700000000", b'{"a":1}') == expected


def test_a_bad_signature_is_refused(fake: FakeDaily) -> None:
    other = base64.b64encode(b"another secret of 32 bytes......").decode()
    delivery = fake.sign_webhook(participant_left(fake), secret=other)
    with pytest.raises(WebhookRejected) as refused:
        read_webhook(secret=fake.webhook_secret, headers=delivery.headers, body=delivery.body)
    assert refused.value.status == 401


def test_a_tampered_body_is_refused(fake: FakeDaily) -> None:
    delivery = fake.sign_webhook(participant_left(fake))
    tampered = delivery.body.replace(b'"duration":1800', b'"duration":9999')
    assert tampered != delivery.body
    with pytest.raises(WebhookRejected, match="does not match"):
        read_webhook(secret=fake.webhook_secret, headers=delivery.headers, body=tampered)


def test_a_tampered_timestamp_is_refused(fake: FakeDaily) -> None:
    delivery = fake.sign_webhook(participant_left(fake))
    headers = dict(delivery.headers)
    headers["X-Webhook-Timestamp"] = str(int(headers["X-Webhook-Timestamp"]) - 1)
    with pytest.raises(WebhookRejected, match="does not match"):
        verify_signature(secret=fake.webhook_secret, headers=headers, body=delivery.body)


def test_a_stale_webhook_is_refused_even_when_signed(fake: FakeDaily) -> None:
    sent = int(time.time()) - int(DEFAULT_TOLERANCE) - 60
    delivery = fake.sign_webhook(participant_left(fake), timestamp=sent)
    with pytest.raises(WebhookRejected, match="from now"):
        read_webhook(secret=fake.webhook_secret, headers=delivery.headers, body=delivery.body)
    # within the tolerance of when it was sent, the same delivery is good
    event = read_webhook(
        secret=fake.webhook_secret, headers=delivery.headers, body=delivery.body, now=sent + 10
    )
    assert event is not None


def test_a_millisecond_timestamp_is_read_as_such(fake: FakeDaily) -> None:
    now = time.time()
    delivery = fake.sign_webhook(participant_left(fake), timestamp=int(now * 1000))
    event = read_webhook(
        secret=fake.webhook_secret, headers=delivery.headers, body=delivery.body, now=now
    )
    assert event is not None


def test_missing_signature_on_an_event_is_refused(fake: FakeDaily) -> None:
    delivery = fake.sign_webhook(participant_left(fake))
    headers = {"X-Webhook-Timestamp": delivery.headers["X-Webhook-Timestamp"]}
    with pytest.raises(WebhookRejected, match="no X-Webhook-Signature"):
        read_webhook(secret=fake.webhook_secret, headers=headers, body=delivery.body)


def test_the_verification_ping_is_recognised(fake: FakeDaily) -> None:
    ping = fake.verification_request()
    assert read_webhook(secret=fake.webhook_secret, headers=ping.headers, body=ping.body) is None


def test_recording_ready_and_meeting_events_parse(fake: FakeDaily) -> None:
    ready = fake.event(
        RECORDING_READY,
        {
            "type": "cloud",
            "recording_id": "rec-1",
            "room_name": "class",
            "start_ts": 1_700_000_000,
            "status": "finished",
            "max_participants": 2,
            "duration": 3600,
            "s3_key": "domain/class/1700000000",
        },
    )
    parsed = parse_event(json.dumps(ready).encode())
    assert parsed.id == ready["id"]
    assert parsed.recording_ready().recording_id == "rec-1"
    assert parsed.recording_ready().duration == 3600
    ended = parse_event(
        json.dumps(
            fake.event(
                "meeting.ended",
                {"room": "class", "meeting_id": "m-1", "start_ts": 10, "end_ts": 70},
            )
        ).encode()
    )
    assert ended.meeting().end_ts == 70
    with pytest.raises(ValueError, match="no participant"):
        ended.participant()


def test_a_malformed_event_names_the_field() -> None:
    body = json.dumps({"version": "1.0.0", "type": "meeting.started", "payload": {}, "event_ts": 1})
    with pytest.raises(Invalid) as bad:
        parse_event(body.encode())
    assert bad.value.field == "id"
    with pytest.raises(Invalid) as not_json:
        parse_event(b"{nope")
    assert not_json.value.field == "body"
