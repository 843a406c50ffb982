"""liveclass's Zoom wire code against Zoom's documented contract: Server-to-Server OAuth,
the meeting and recording calls, downloads and webhooks, all against ``fake_zoom`` over
127.0.0.1.

Fixed vectors: the signature and url_validation values below were computed with
``openssl dgst -sha256 -hmac`` (an implementation independent of ours). Zoom's docs show a
challenge (plainToken ``qgg8vlvZRS6UYooatFL8Aw``) but not the secret token behind their
encryptedToken, so their answer cannot be checked; the challenge's shape is theirs.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liveclass.domain.errors import Invalid
from liveclass.providers.access_tokens import REFRESH_MARGIN
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from liveclass.providers.transport import retry_after_seconds
from liveclass.providers.zoom_api import (
    AutoRecording,
    MeetingSpec,
    ZoomClient,
    ZoomTokenSource,
    meeting_path_id,
)
from liveclass.providers.zoom_webhooks import (
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_COMPLETED,
    TOLERANCE,
    ZoomWebhookEvent,
    signature,
    url_validation_answer,
    verify_webhook,
)
from tests.support.fake_zoom import FakeZoomServer, SignedWebhook, serve_fake_zoom
from tests.support.loopback_app import LoopbackApp

ACCOUNT = "acct-liveclass"
CLIENT_ID = "client-liveclass"
CLIENT_SECRET = "client-secret-liveclass"
WEBHOOK_SECRET = "liveclass-zoom-secret-token"
START = datetime.datetime(
    2026, 12, 20, 16, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
)


class ManualClock:
    """The token source's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def zoom() -> Iterator[FakeZoomServer]:
    with serve_fake_zoom(
        account_id=ACCOUNT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def client_for(
    zoom: FakeZoomServer,
    http: httpx.AsyncClient,
    clock: ManualClock,
    *,
    client_secret: str = CLIENT_SECRET,
    timeout: float = 2.0,
) -> ZoomClient:
    tokens = ZoomTokenSource(
        f"{zoom.url}/oauth/token",
        account_id=ACCOUNT,
        client_id=CLIENT_ID,
        client_secret=client_secret,
        http=http,
        timeout=timeout,
        clock=clock,
    )
    return ZoomClient(zoom.api_url, tokens=tokens, http=http, timeout=timeout, max_retry_after=2)


@pytest.fixture
def client(zoom: FakeZoomServer, http: httpx.AsyncClient, clock: ManualClock) -> ZoomClient:
    return client_for(zoom, http, clock)


def a_class(**changes: object) -> MeetingSpec:
    fields: dict[str, object] = {
        "topic": "Spanish Conversation Practice",
        "start_time": START,
        "duration_minutes": 60,
        "password": "b1-Tue*9",
        "waiting_room": True,
        "join_before_host": False,
        "auto_recording": AutoRecording.CLOUD,
    }
    fields.update(changes)
    return MeetingSpec(**fields)  # type: ignore[arg-type]


# OAuth


async def test_the_token_request_is_account_credentials_with_basic_auth(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    await client.create_meeting(a_class())
    (token_call,) = zoom.fake.calls_to("POST", "/oauth/token")
    assert token_call.query == {"grant_type": "account_credentials", "account_id": ACCOUNT}
    scheme, _, encoded = token_call.authorization.partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    (create,) = zoom.fake.calls_to("POST", "/v2/users/me/meetings")
    issued = list(zoom.fake.tokens)
    assert create.authorization == f"Bearer {issued[0]}"


async def test_concurrent_calls_share_one_token_request(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    zoom.fake.token_delay = 0.3  # every caller arrives while the first request is out
    meetings = await asyncio.gather(*(client.create_meeting(a_class()) for _ in range(8)))
    assert zoom.fake.token_requests == 1
    assert len({m.id for m in meetings}) == 8
    assert len(zoom.fake.calls_to("POST", "/v2/users/me/meetings")) == 8


async def test_the_token_is_kept_until_shortly_before_expiry_then_renewed(
    zoom: FakeZoomServer, client: ZoomClient, clock: ManualClock
) -> None:
    meeting = await client.create_meeting(a_class())
    clock.now += zoom.fake.expires_in - REFRESH_MARGIN - 1
    await client.get_meeting(meeting.id)
    assert zoom.fake.token_requests == 1
    clock.now += 2  # now inside the margin before Zoom's expiry
    await client.get_meeting(meeting.id)
    assert zoom.fake.token_requests == 2
    gets = zoom.fake.calls_to("GET", f"/v2/meetings/{meeting.id}")
    assert gets[0].authorization != gets[1].authorization


async def test_a_refused_token_is_dropped_and_the_call_retried_once(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    zoom.fake.revoke_tokens()
    assert (await client.get_meeting(meeting.id)).id == meeting.id
    assert zoom.fake.token_requests == 2
    assert len(zoom.fake.calls_to("GET", f"/v2/meetings/{meeting.id}")) == 2


async def test_concurrent_refusals_fetch_one_new_token(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    zoom.fake.revoke_tokens()
    zoom.fake.token_delay = 0.3
    await asyncio.gather(*(client.get_meeting(meeting.id) for _ in range(5)))
    assert zoom.fake.token_requests == 2


async def test_concurrent_callers_share_one_failed_token_request(
    zoom: FakeZoomServer, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    client = client_for(zoom, http, clock, timeout=0.5)
    zoom.fake.stall_seconds = 3.0
    zoom.fake.stall_next = 1  # the token request hangs; a second one would be answered
    outcomes = await asyncio.gather(
        *(client.create_meeting(a_class()) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, ProviderUnavailable) for o in outcomes)
    assert zoom.fake.token_requests == 1
    await client.create_meeting(a_class())  # a later call tries again
    assert zoom.fake.token_requests == 2


async def test_wrong_client_credentials_are_zooms_refusal(
    zoom: FakeZoomServer, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    client = client_for(zoom, http, clock, client_secret="not-the-secret")
    with pytest.raises(ProviderError) as refused:
        await client.create_meeting(a_class())
    assert refused.value.provider_status == 400
    assert refused.value.provider_code == "invalid_client"
    assert "Invalid client_id or client_secret" in refused.value.provider_message
    assert refused.value.code == "PROVIDER_UNAVAILABLE"
    assert not zoom.fake.calls_to("POST", "/v2/")


# meetings


async def test_create_sends_a_scheduled_meeting_in_utc(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    (create,) = zoom.fake.calls_to("POST", "/v2/users/me/meetings")
    assert create.body == {
        "topic": "Spanish Conversation Practice",
        "type": 2,
        "start_time": "2026-12-20T15:00:00Z",
        "duration": 60,
        "timezone": "UTC",
        "password": "b1-Tue*9",
        "settings": {"waiting_room": True, "join_before_host": False, "auto_recording": "cloud"},
    }
    stored = zoom.fake.meetings[meeting.id]
    assert meeting.uuid == stored["uuid"]
    assert meeting.join_url == stored["join_url"]
    assert meeting.start_url == stored["start_url"]
    assert meeting.start_url != meeting.join_url
    assert meeting.password == "b1-Tue*9"


async def test_create_for_a_named_host(zoom: FakeZoomServer, client: ZoomClient) -> None:
    await client.create_meeting(a_class(auto_recording=AutoRecording.NONE), user_id="t@x.org")
    (create,) = zoom.fake.calls_to("POST", "/v2/users/t@x.org/meetings")
    assert create.body["settings"]["auto_recording"] == "none"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "eleven-char"}, "password"),
        ({"password": "no spaces"}, "password"),
        ({"start_time": datetime.datetime(2026, 12, 20, 15, 0)}, "start_time"),
        ({"topic": "  "}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"duration_minutes": 0}, "duration_minutes"),
    ],
)
def test_a_meeting_zoom_would_refuse_is_invalid_here(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as invalid:
        a_class(**changes)
    assert invalid.value.field == field


async def test_update_patches_the_meeting(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    later = START + datetime.timedelta(days=1)
    await client.update_meeting(meeting.id, a_class(start_time=later, topic="Moved"))
    (patch,) = zoom.fake.calls_to("PATCH", f"/v2/meetings/{meeting.id}")
    assert patch.body["start_time"] == "2026-12-21T15:00:00Z"
    fetched = await client.get_meeting(meeting.id)
    assert (fetched.topic, fetched.start_time) == ("Moved", "2026-12-21T15:00:00Z")


async def test_end_puts_the_end_action(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    await client.end_meeting(meeting.id)
    (put,) = zoom.fake.calls_to("PUT", f"/v2/meetings/{meeting.id}/status")
    assert put.body == {"action": "end"}
    assert zoom.fake.meetings[meeting.id]["status"] == "finished"


async def test_delete_removes_the_meeting(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    await client.delete_meeting(meeting.id)
    assert meeting.id not in zoom.fake.meetings
    with pytest.raises(ProviderError) as gone:
        await client.get_meeting(meeting.id)
    assert (gone.value.provider_status, gone.value.provider_code) == (404, "3001")
    assert f"Meeting does not exist: {meeting.id}" in gone.value.provider_message


# recordings


@pytest.mark.parametrize(
    ("uuid", "segment"),
    [
        ("aBc+dEf==", "aBc%2BdEf%3D%3D"),
        ("/aBc==", "%252FaBc%253D%253D"),
        ("aB//c==", "aB%252F%252Fc%253D%253D"),
    ],
)
def test_uuid_path_encoding(uuid: str, segment: str) -> None:
    assert meeting_path_id(uuid) == segment
    assert meeting_path_id(81234567890) == "81234567890"


@pytest.mark.parametrize("uuid", ["/slash+first==", "double//slash==", "plain+uuid=="])
async def test_recordings_by_instance_uuid(
    zoom: FakeZoomServer, client: ZoomClient, uuid: str
) -> None:
    zoom.fake.next_uuid = uuid
    meeting = await client.create_meeting(a_class())
    zoom.fake.complete_recording(meeting.id)
    by_uuid = await client.meeting_recordings(uuid)
    by_id = await client.meeting_recordings(meeting.id)
    assert by_uuid == by_id
    assert by_uuid.uuid == uuid
    (video,) = by_uuid.videos()
    assert video.file_size == by_uuid.total_size


async def test_a_slash_uuid_encoded_once_does_not_reach_the_meeting(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    """Why the double encoding exists: encoded once, the '/' splits Zoom's path."""
    zoom.fake.next_uuid = "/slash+first=="
    meeting = await client.create_meeting(a_class())
    zoom.fake.complete_recording(meeting.id)
    with pytest.raises(ProviderError) as missed:
        await client.request("GET", f"/meetings/{quote('/slash+first==', safe='')}/recordings")
    assert missed.value.provider_status == 404


async def test_no_recording_is_zooms_3301(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    with pytest.raises(ProviderError) as missing:
        await client.meeting_recordings(meeting.id)
    assert (missing.value.provider_status, missing.value.provider_code) == (404, "3301")


class Collected:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def __call__(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


async def test_download_with_the_webhooks_download_token(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    content = bytes(range(256)) * 4000
    event = ZoomWebhookEvent.parse(zoom.fake.complete_recording(meeting.id, {"speaker": content}))
    assert event.recordings is not None
    (video,) = event.recordings.videos()
    sink = Collected()
    written = await client.download_recording(
        video.download_url, sink, download_token=event.download_token, expected_size=video.file_size
    )
    assert (written, sink.data) == (len(content), content)
    assert len(sink.chunks) > 1  # streamed, not read whole
    (download,) = zoom.fake.calls_to("GET", "/rec/download/")
    assert download.query == {"access_token": event.download_token}
    assert download.authorization == ""


async def test_download_with_the_bearer_token(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    zoom.fake.complete_recording(meeting.id)
    (video,) = (await client.meeting_recordings(meeting.id)).videos()
    sink = Collected()
    await client.download_recording(video.download_url, sink, expected_size=video.file_size)
    assert len(sink.data) == video.file_size
    (download,) = zoom.fake.calls_to("GET", "/rec/download/")
    assert download.authorization.startswith("Bearer ")
    assert "access_token" not in download.query


async def test_a_short_download_is_retryable_and_the_retry_completes(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    event = ZoomWebhookEvent.parse(zoom.fake.complete_recording(meeting.id))
    assert event.recordings is not None
    (video,) = event.recordings.videos()
    zoom.fake.short_downloads = 1
    with pytest.raises(ProviderUnavailable, match="of 200000 bytes"):
        await client.download_recording(
            video.download_url,
            Collected(),
            download_token=event.download_token,
            expected_size=video.file_size,
        )
    again = Collected()
    await client.download_recording(
        video.download_url,
        again,
        download_token=event.download_token,
        expected_size=video.file_size,
    )
    assert len(again.data) == video.file_size


async def test_a_wrong_download_token_is_refused(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    event = ZoomWebhookEvent.parse(zoom.fake.complete_recording(meeting.id))
    assert event.recordings is not None
    with pytest.raises(ProviderError) as refused:
        await client.download_recording(
            event.recordings.files[0].download_url, Collected(), download_token="forged"
        )
    assert refused.value.provider_status == 401


# failures


async def test_zoom_down_is_unavailable(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    zoom.server.stop()
    with pytest.raises(ProviderUnavailable, match="unreachable") as down:
        await client.get_meeting(meeting.id)
    assert (down.value.status, down.value.code) == (503, "PROVIDER_UNAVAILABLE")


async def test_oauth_down_is_unavailable(zoom: FakeZoomServer, client: ZoomClient) -> None:
    zoom.server.stop()
    with pytest.raises(ProviderUnavailable, match="OAuth"):
        await client.create_meeting(a_class())


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_unavailable_with_zooms_message(
    zoom: FakeZoomServer, client: ZoomClient, status: int
) -> None:
    zoom.fake.fail_status = status
    zoom.fake.fail_next = 1
    with pytest.raises(ProviderUnavailable) as failed:
        await client.create_meeting(a_class())
    assert f"{status}" in failed.value.detail
    assert "the fake was told to fail" in failed.value.detail
    assert not zoom.fake.meetings


async def test_a_stalled_call_times_out(
    zoom: FakeZoomServer, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    client = client_for(zoom, http, clock, timeout=0.5)
    meeting = await client.create_meeting(a_class())
    zoom.fake.stall_seconds = 3.0
    zoom.fake.stall_next = 1
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await client.get_meeting(meeting.id)


async def test_a_429_waits_retry_after_and_retries_once(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    zoom.fake.rate_limit_next = 1
    zoom.fake.retry_after = "1"
    meeting = await client.create_meeting(a_class())
    assert meeting.id in zoom.fake.meetings
    assert len(zoom.fake.calls_to("POST", "/v2/users/me/meetings")) == 2


async def test_a_429_twice_is_unavailable(zoom: FakeZoomServer, client: ZoomClient) -> None:
    zoom.fake.rate_limit_next = 2
    zoom.fake.retry_after = "0"
    with pytest.raises(ProviderUnavailable, match="429"):
        await client.create_meeting(a_class())
    assert len(zoom.fake.calls_to("POST", "/v2/users/me/meetings")) == 2


async def test_a_long_retry_after_fails_at_once(zoom: FakeZoomServer, client: ZoomClient) -> None:
    zoom.fake.rate_limit_next = 1
    zoom.fake.retry_after = "3600"
    with pytest.raises(ProviderUnavailable, match="Retry-After 3600"):
        await client.create_meeting(a_class())
    assert len(zoom.fake.calls_to("POST", "/v2/users/me/meetings")) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC).timestamp()
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Tue, 01 Dec 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Tue, 01 Dec 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None


# webhooks

NOW = 1654503849


def test_signature_matches_an_independent_hmac() -> None:
    body = (
        b'{"event":"meeting.started","event_ts":1654503849680,'
        b'"payload":{"account_id":"AAAA","object":{"id":"123","uuid":"a/b//c=="}}}'
    )
    expected = "v0=41b80e9b56c2637392e3c951e3a4a4ab71f08d1ada2724767a8c71449a8b220c"
    assert signature(WEBHOOK_SECRET, str(NOW), body) == expected
    event = verify_webhook(
        body=body,
        signature_header=expected,
        timestamp_header=str(NOW),
        secret=WEBHOOK_SECRET,
        now=NOW + 1,
    )
    assert ZoomWebhookEvent.parse(event).meeting_id == 123


def test_url_validation_answer_for_zooms_example_challenge() -> None:
    challenge = {
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        "event_ts": 1654503849680,
        "event": "endpoint.url_validation",
    }
    assert url_validation_answer(challenge, WEBHOOK_SECRET) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": "d2d96aff5fb9b09e7bfa3a312a980076d8d45aaa057041c18ff958566764bed7",
    }


def test_url_validation_answer_refuses_other_events() -> None:
    with pytest.raises(Invalid):
        url_validation_answer({"event": "meeting.started", "payload": {}}, WEBHOOK_SECRET)


def verify(
    signed: SignedWebhook, *, secret: str = WEBHOOK_SECRET, now: float | None = None
) -> dict[str, object]:
    return verify_webhook(
        body=signed.body,
        signature_header=signed.headers.get("x-zm-signature"),
        timestamp_header=signed.headers.get("x-zm-request-timestamp"),
        secret=secret,
        now=now,
    )


async def test_signed_events_verify_and_parse(zoom: FakeZoomServer, client: ZoomClient) -> None:
    meeting = await client.create_meeting(a_class())
    joined = zoom.fake.participant_event(
        PARTICIPANT_JOINED,
        meeting.id,
        user_name="Ana",
        user_id="16778240",
        at="2026-12-20T15:01:00Z",
        email="ana@example.org",
        customer_key="user-42",
    )
    event = ZoomWebhookEvent.parse(verify(zoom.fake.sign(joined)))
    assert (event.event, event.meeting_id, event.meeting_uuid) == (
        PARTICIPANT_JOINED,
        meeting.id,
        meeting.uuid,
    )
    assert event.participant is not None
    assert (event.participant.name, event.participant.at) == ("Ana", "2026-12-20T15:01:00Z")
    assert (event.participant.customer_key, event.participant.email) == (
        "user-42",
        "ana@example.org",
    )
    left = zoom.fake.participant_event(
        PARTICIPANT_LEFT,
        meeting.id,
        user_name="Ana",
        user_id="16778240",
        at="2026-12-20T15:41:00Z",
    )
    left_event = ZoomWebhookEvent.parse(verify(zoom.fake.sign(left)))
    assert left_event.participant is not None
    assert left_event.participant.at == "2026-12-20T15:41:00Z"
    assert left_event.key != event.key
    # a redelivery is the same event
    assert ZoomWebhookEvent.parse(verify(zoom.fake.sign(joined))).key == event.key


async def test_meeting_lifecycle_and_recording_events_parse(
    zoom: FakeZoomServer, client: ZoomClient
) -> None:
    meeting = await client.create_meeting(a_class())
    started = ZoomWebhookEvent.parse(
        verify(zoom.fake.sign(zoom.fake.meeting_event("meeting.started", meeting.id)))
    )
    ended = ZoomWebhookEvent.parse(
        verify(
            zoom.fake.sign(
                zoom.fake.meeting_event(
                    "meeting.ended", meeting.id, end_time="2026-12-20T16:00:00Z"
                )
            )
        )
    )
    assert (started.event, started.meeting_id, started.participant) == (
        "meeting.started",
        meeting.id,
        None,
    )
    assert ended.end_time == "2026-12-20T16:00:00Z"
    completed = ZoomWebhookEvent.parse(
        verify(zoom.fake.sign(zoom.fake.complete_recording(meeting.id)))
    )
    assert completed.event == RECORDING_COMPLETED
    assert completed.download_token
    assert completed.recordings is not None
    assert completed.recordings.uuid == meeting.uuid
    assert completed.recordings.videos()[0].download_url.startswith(zoom.url)


@pytest.mark.parametrize("damage", ["body", "secret", "no signature", "no timestamp", "v1"])
async def test_a_webhook_zoom_did_not_sign_is_refused(zoom: FakeZoomServer, damage: str) -> None:
    signed = zoom.fake.sign({"event": "meeting.ended", "event_ts": 1, "payload": {}})
    headers = dict(signed.headers)
    body, secret = signed.body, WEBHOOK_SECRET
    if damage == "body":
        body = body.replace(b"ended", b"begun")
    elif damage == "secret":
        secret = "another-apps-secret"
    elif damage == "no signature":
        del headers["x-zm-signature"]
    elif damage == "no timestamp":
        del headers["x-zm-request-timestamp"]
    else:
        headers["x-zm-signature"] = headers["x-zm-signature"].replace("v0=", "v1=")
    with pytest.raises(WebhookRejected) as refused:
        verify(SignedWebhook(body, headers), secret=secret)
    assert (refused.value.status, refused.value.code) == (401, "INVALID_WEBHOOK_SIGNATURE")


@pytest.mark.parametrize("age", [-TOLERANCE - 1, TOLERANCE + 1])
def test_a_stale_or_future_timestamp_is_refused(zoom: FakeZoomServer, age: float) -> None:
    signed = zoom.fake.sign({"event": "meeting.ended", "payload": {}}, timestamp=NOW)
    with pytest.raises(WebhookRejected, match="stale"):
        verify(signed, now=NOW + age)


def test_a_timestamp_inside_the_tolerance_is_accepted(zoom: FakeZoomServer) -> None:
    signed = zoom.fake.sign({"event": "meeting.ended", "payload": {}}, timestamp=NOW)
    assert verify(signed, now=NOW + TOLERANCE - 1)["event"] == "meeting.ended"


def test_a_signed_body_that_is_no_event_is_invalid(zoom: FakeZoomServer) -> None:
    for body in (b"not json", b"[1, 2]", b"{}"):
        signed = zoom.fake.sign({})
        ts = signed.headers["x-zm-request-timestamp"]
        headers = {**signed.headers, "x-zm-signature": signature(WEBHOOK_SECRET, ts, body)}
        with pytest.raises(Invalid) as invalid:
            verify(SignedWebhook(body, headers))
        assert invalid.value.code == "INVALID_WEBHOOK_BODY"


def webhook_endpoint(secret: str) -> Starlette:
    """An endpoint written as liveclass's will be: verify, then answer the challenge."""

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            event = verify_webhook(
                body=body,
                signature_header=request.headers.get("x-zm-signature"),
                timestamp_header=request.headers.get("x-zm-request-timestamp"),
                secret=secret,
            )
        except WebhookRejected as exc:
            return JSONResponse({"code": exc.code}, status_code=401)
        if event["event"] == "endpoint.url_validation":
            return JSONResponse(url_validation_answer(event, secret))
        return Response(json.dumps(event["event"]), status_code=200)

    return Starlette(routes=[Route("/hooks/zoom", receive, methods=["POST"])])


@pytest.mark.parametrize(("secret", "validated"), [(WEBHOOK_SECRET, True), ("stale-secret", False)])
async def test_zoom_validates_the_endpoint(
    zoom: FakeZoomServer, secret: str, validated: bool
) -> None:
    endpoint = LoopbackApp(webhook_endpoint(secret), "webhook endpoint")
    endpoint.start()
    try:
        assert await zoom.fake.validate_endpoint(f"{endpoint.url}/hooks/zoom") is validated
    finally:
        endpoint.stop()
