"""What the hosted-provider contract suite needs of each provider: its local server, the
settings that point liveclass at it, and webhooks signed as the provider signs them.

``HARNESSES`` is the registry, one entry per provider. Where a provider cannot show a
contract step, its harness says so with a capability flag and the step is skipped for it
(with the flag's reason), never loosened for the others."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from liveclass.domain.roles import Role
from liveclass.providers.hosted import Attendee, Meeting, numeric_uid
from liveclass.providers.zoom import DEFAULT_ATTENDEE_DOMAIN
from tests.providers.hosted_harness_jitsi import APP_ID, KEY_ID, JaasWebhooks, new_private_key
from tests.providers.hosted_harness_meet import meet_harness
from tests.providers.hosted_harness_teams import teams_harness
from tests.providers.hosted_harness_zoom import Delivery, ZoomWebhooks
from tests.support.fake_agora import APP_CERTIFICATE, FakeAgora, serve_fake_agora
from tests.support.fake_daily import FakeDaily, serve_fake_daily
from tests.support.fake_jaas import FakeJaas, serve_fake_jaas
from tests.support.fake_zoom import FakeZoomServer, serve_fake_zoom

HAS_NO_MEETING_API = "the provider has no meeting API: making, changing and deleting call nothing"


class Harness(Protocol):
    provider: str
    # liveclass calls the provider to make, change and delete a class's meeting (Daily's
    # rooms, Zoom's meetings). Jitsi has no room API (a room exists while people are in
    # it): nothing is called, so nothing can fail, be rate limited or be counted there.
    has_meeting_api: bool
    # contract steps the provider cannot show, each with why (Meet: no delete, one shared
    # link, pushed events that name no person); the suite skips exactly those for it
    lacks: ClassVar[Mapping[str, str]]

    def settings(self) -> dict[str, Any]: ...

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        """The provider's id of the session's meeting (``session`` as the API answers it)."""
        ...

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every call the server received."""
        ...

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None: ...

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        """A signed participant joined/left delivery (``kind``: joined, left)."""
        ...

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]: ...

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]: ...

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]: ...


@runtime_checkable
class AttendanceOnRecord(Protocol):
    """A provider that keeps attendance records liveclass reads when the class ends
    (Meet's conference records, Teams' attendance reports); the others only push it."""

    def record_attendance(
        self, meeting_id: str, display_name: str, start: float, end: float
    ) -> None:
        """Put on the provider's record that ``display_name`` was in the meeting."""
        ...


@runtime_checkable
class RecordingsOnRecord(Protocol):
    """A provider that lists its recordings' files on its records (Meet's conference
    records), read with the attendance after the class."""

    def record_file(self, meeting_id: str, content: bytes, at: float) -> str:
        """Put a finished recording file on the meeting's record; its name."""
        ...

    def push_file(self, meeting_id: str, recording: str, at: float) -> tuple[bytes, dict[str, str]]:
        """The provider's push that ``recording``'s file was written."""
        ...

    def record_transcript(self, meeting_id: str, at: float) -> str:
        """Put a finished transcript on the meeting's record; its link."""
        ...


@dataclass
class DailyHarness:
    fake: FakeDaily
    url: str
    provider: str = "daily"
    has_meeting_api: bool = True
    lacks: ClassVar[Mapping[str, str]] = {}

    def settings(self) -> dict[str, Any]:
        return {
            "daily_api_key": self.fake.api_key,
            "daily_api_url": self.url + "/v1",
            "daily_webhook_secret": self.fake.webhook_secret,
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        return str(session["id"])  # the room is named after the session

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status
        self.fake.retry_after = retry_after

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        payload: dict[str, Any] = {
            "room": meeting_id,
            "session_id": connection,
            "user_id": user_id,
            "user_name": user_id,
            "owner": False,
            "joined_at": at,
        }
        if kind == "left":
            # Daily's left carries the join time and the seconds in the room
            payload["joined_at"] = at - 60
            payload["duration"] = 60  # so it left at ``at``
        signed = self.fake.sign_webhook(self.fake.event(f"participant.{kind}", payload))
        return signed.body, signed.headers

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        payload: dict[str, Any] = {"room": meeting_id, "meeting_id": "m-1", "start_ts": at}
        if kind == "ended":
            payload["end_ts"] = at
        signed = self.fake.sign_webhook(self.fake.event(f"meeting.{kind}", payload))
        return signed.body, signed.headers

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        body, headers = self.meeting("started", meeting_id, 0)
        return body.replace(b"m-1", b"m-2"), headers

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        event = self.fake.event(
            "meeting.started", {"room": meeting_id, "meeting_id": "m", "start_ts": time.time()}
        )
        signed = self.fake.sign_webhook(event, timestamp=int(time.time()) - 3600)
        return signed.body, signed.headers


@contextmanager
def daily_harness() -> Iterator[Harness]:
    with serve_fake_daily() as (fake, server):
        yield DailyHarness(fake, server.url)


def _attendee(user_id: str) -> Attendee:
    # the same person for every delivery about them (the providers' per-person ids)
    return Attendee(uuid.uuid5(uuid.NAMESPACE_URL, user_id), user_id, user_id, Role.VIEWER)


def _instant(at: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(at, datetime.UTC)


def _swapped(delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    headers, body = delivery
    return body, headers


def _tamper(body: bytes, was: bytes, forged: bytes) -> bytes:
    # a start turned into an end after signing, the signature left as it was
    assert was in body
    return body.replace(was, forged)


@dataclass
class ZoomAppHarness:
    """The fake Zoom behind the app's ``ZOOM_*`` settings; deliveries name the attendee's
    registrant address only once liveclass has registered them (their join)."""

    zoom: FakeZoomServer
    provider: str = "zoom"
    has_meeting_api: bool = True
    lacks: ClassVar[Mapping[str, str]] = {}

    @property
    def webhooks(self) -> ZoomWebhooks:
        return ZoomWebhooks(self.zoom, DEFAULT_ATTENDEE_DOMAIN)

    def settings(self) -> dict[str, Any]:
        fake = self.zoom.fake
        return {
            "zoom_account_id": fake.account_id,
            "zoom_client_id": fake.client_id,
            "zoom_client_secret": fake.client_secret,
            "zoom_webhook_secret": fake.webhook_secret,
            "zoom_api_url": self.zoom.api_url,
            "zoom_oauth_url": f"{self.zoom.url}/oauth/token",
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        # the meeting the fake made whose join link the session shows
        (found,) = [
            m for m in self.zoom.fake.meetings.values() if m["join_url"] == session["meeting_url"]
        ]
        return str(found["id"])

    def _meeting(self, meeting_id: str) -> Meeting:
        made = self.zoom.fake.meetings[int(meeting_id)]
        return Meeting("zoom", meeting_id, made["join_url"], {"host_id": made["host_id"]})

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.zoom.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        fake = self.zoom.fake
        if status == 429:
            # Zoom's rate limit answer carries its Retry-After
            fake.rate_limit_next, fake.retry_after = count, retry_after or "1"
        else:
            fake.fail_next, fake.fail_status = count, status

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        meeting, who = self._meeting(meeting_id), _attendee(user_id)
        if kind == "joined":
            delivery = self.webhooks.participant_joined(
                meeting, who, at=_instant(at), connection=connection
            )
        else:
            delivery = self.webhooks.participant_left(
                meeting, who, at=_instant(at), connection=connection
            )
        return _swapped(delivery)

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        meeting = self._meeting(meeting_id)
        if kind == "started":
            return _swapped(self.webhooks.meeting_started(meeting, at=_instant(at)))
        return _swapped(self.webhooks.meeting_ended(meeting, at=_instant(at)))

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        body, headers = self.meeting("started", meeting_id, time.time())
        return _tamper(body, b'"meeting.started"', b'"meeting.ended"'), headers

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        fake = self.zoom.fake
        event = fake.meeting_event("meeting.started", int(meeting_id))
        signed = fake.sign(event, timestamp=int(time.time()) - 3600)
        return signed.body, signed.headers


@contextmanager
def zoom_harness() -> Iterator[Harness]:
    with serve_fake_zoom() as zoom:
        yield ZoomAppHarness(zoom)


@dataclass
class JaasAppHarness:
    """Jitsi as a Service behind the app's ``JAAS_*`` settings: the fake JaaS signs its
    webhooks and serves recording links; there is no room API to call."""

    fake: FakeJaas
    webhooks: JaasWebhooks
    private_key: str
    provider: str = "jitsi"
    has_meeting_api: bool = False
    lacks: ClassVar[Mapping[str, str]] = {}

    def settings(self) -> dict[str, Any]:
        return {
            "jaas_app_id": APP_ID,
            "jaas_key_id": KEY_ID,
            "jaas_private_key": self.private_key,
            "jaas_webhook_secret": self.fake.webhook_secret,
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        # a JaaS link is https://8x8.vc/{AppID}/{room}
        app_id, room = urlsplit(str(session["meeting_url"])).path.strip("/").split("/")
        assert app_id == APP_ID
        return room

    def calls(self) -> list[tuple[str, str]]:
        return [("GET", path) for path in self.fake.downloads]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        meeting, who = Meeting("jitsi", meeting_id, ""), _attendee(user_id)
        if kind == "joined":
            delivery = self.webhooks.participant_joined(
                meeting, who, at=_instant(at), connection=connection
            )
        else:
            delivery = self.webhooks.participant_left(
                meeting, who, at=_instant(at), connection=connection
            )
        return _swapped(delivery)

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        meeting = Meeting("jitsi", meeting_id, "")
        if kind == "started":
            return _swapped(self.webhooks.meeting_started(meeting, at=_instant(at)))
        return _swapped(self.webhooks.meeting_ended(meeting, at=_instant(at)))

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        body, headers = self.meeting("started", meeting_id, time.time())
        return _tamper(body, b'"ROOM_CREATED"', b'"ROOM_DESTROYED"'), headers

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        event = self.fake.event("ROOM_CREATED", meeting_id, {"conference": meeting_id})
        return _swapped(self.fake.sign(event, t=int(time.time()) - 3600))


@contextmanager
def jitsi_harness() -> Iterator[Harness]:
    key, pem = new_private_key()
    with serve_fake_jaas(app_id=APP_ID, webhook_secret=str(uuid.uuid4())) as fake:
        yield JaasAppHarness(fake, JaasWebhooks(fake, key), pem)


@dataclass
class AgoraHarness:
    """The fake Agora behind the app's ``AGORA_*`` settings: no channel API (like Jitsi);
    notifications name a person only by the uid liveclass derived for them."""

    fake: FakeAgora
    provider: str = "agora"
    has_meeting_api: bool = False
    lacks: ClassVar[Mapping[str, str]] = {}

    def settings(self) -> dict[str, Any]:
        return {
            "agora_app_id": self.fake.app_id,
            "agora_app_certificate": APP_CERTIFICATE,
            "agora_customer_id": self.fake.customer_id,
            "agora_customer_secret": self.fake.customer_secret,
            "agora_webhook_secret": self.fake.webhook_secret,
            "agora_api_url": self.fake.url,
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        # the link is agora:{app id}/{channel}
        return str(session["meeting_url"]).rsplit("/", 1)[1]

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status
        self.fake.retry_after = retry_after

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        # Agora knows the person by uid alone; ``connection`` has no counterpart there
        payload = {
            "channelName": meeting_id,
            "uid": numeric_uid(meeting_id, user_id),
            "platform": 7,
            "clientSeq": int(at * 1000),
            "ts": int(at),
        }
        if kind == "left":
            payload["reason"] = 1
        return self.fake.sign(self.fake.notice(105 if kind == "joined" else 106, payload))

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        payload = {"channelName": meeting_id, "ts": int(at)}
        return self.fake.sign(self.fake.notice(101 if kind == "started" else 102, payload))

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        body, headers = self.meeting("started", meeting_id, time.time())
        return _tamper(body, b'"eventType": 101', b'"eventType": 102'), headers

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        # no header carries a time, but the signed body's notifyMs does
        payload = {"channelName": meeting_id, "ts": int(time.time()) - 3600}
        return self.fake.sign(self.fake.notice(101, payload, sent=time.time() - 3600))


@contextmanager
def agora_harness() -> Iterator[Harness]:
    with serve_fake_agora() as fake:
        yield AgoraHarness(fake)


HARNESSES: dict[str, Callable[[], AbstractContextManager[Harness]]] = {
    "daily": daily_harness,
    "zoom": zoom_harness,
    "jitsi": jitsi_harness,
    "meet": meet_harness,
    "agora": agora_harness,
    "teams": teams_harness,
}


async def deliver(
    client: httpx.AsyncClient, provider: str, signed: tuple[bytes, dict[str, str]]
) -> httpx.Response:
    body, headers = signed
    return await client.post(f"/api/v1/providers/{provider}/webhook", content=body, headers=headers)
