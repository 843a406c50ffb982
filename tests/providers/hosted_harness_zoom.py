"""ZoomProvider against the fake Zoom, for the hosted-provider contract suite.

``async with harness() as (provider, webhooks):`` gives a ``ZoomProvider`` pointed at a
running ``fake_zoom`` and a ``ZoomWebhooks`` that makes the fake emit deliveries signed as
Zoom signs them, each as ``(headers, body)`` to hand to ``provider.read_webhook`` (or to
POST to ``/api/v1/providers/zoom/webhook``). Attendees must have been given their link
(``provider.join``) before they "join": Zoom knows them by that registration.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

import httpx

from liveclass.domain.roles import Role
from liveclass.providers.hosted import Attendee, Meeting
from liveclass.providers.zoom import ZoomProvider, attendee_email
from tests.support.fake_zoom import FakeZoomServer, SignedWebhook, serve_fake_zoom

Delivery = tuple[dict[str, str], bytes]


def _iso(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZoomWebhooks:
    """Deliveries the fake Zoom signs for one of its meetings."""

    def __init__(self, zoom: FakeZoomServer, attendee_domain: str) -> None:
        self.zoom = zoom
        self.attendee_domain = attendee_domain

    def meeting_started(self, meeting: Meeting, *, at: datetime.datetime) -> Delivery:
        event = self.zoom.fake.meeting_event("meeting.started", int(meeting.meeting_id))
        event["payload"]["object"]["start_time"] = _iso(at)
        return _delivery(self.zoom.fake.sign(event))

    def meeting_ended(self, meeting: Meeting, *, at: datetime.datetime) -> Delivery:
        event = self.zoom.fake.meeting_event(
            "meeting.ended", int(meeting.meeting_id), end_time=_iso(at)
        )
        return _delivery(self.zoom.fake.sign(event))

    def participant_joined(
        self, meeting: Meeting, who: Attendee, *, at: datetime.datetime, connection: str = "1"
    ) -> Delivery:
        return self._participant("meeting.participant_joined", meeting, who, at, connection)

    def participant_left(
        self, meeting: Meeting, who: Attendee, *, at: datetime.datetime, connection: str = "1"
    ) -> Delivery:
        return self._participant("meeting.participant_left", meeting, who, at, connection)

    def _participant(
        self, name: str, meeting: Meeting, who: Attendee, at: datetime.datetime, connection: str
    ) -> Delivery:
        meeting_id = int(meeting.meeting_id)
        fields: dict[str, str] = {}
        if who.role is Role.HOST:
            # the host is the account's signed-in Zoom user
            fields["id"] = str(meeting.data.get("host_id", ""))
        else:
            email = attendee_email(who.user_id, self.attendee_domain)
            if self.zoom.fake.registrant(meeting_id, email) is not None:
                fields["email"] = email
        event = self.zoom.fake.participant_event(
            name,
            meeting_id,
            user_name=who.name,
            user_id=f"{connection}{zlib.crc32(who.user_id.encode())}",
            at=_iso(at),
            participant_uuid=f"uuid-{who.participant_id}",
            **fields,
        )
        return _delivery(self.zoom.fake.sign(event))

    def recording_ready(self, meeting: Meeting, content: bytes | None = None) -> Delivery:
        files = {"shared_screen_with_speaker_view": content} if content is not None else None
        event = self.zoom.fake.complete_recording(int(meeting.meeting_id), files)
        return _delivery(self.zoom.fake.sign(event))


def _delivery(signed: SignedWebhook) -> Delivery:
    return dict(signed.headers), signed.body


class ZoomHarness(NamedTuple):
    provider: ZoomProvider
    webhooks: ZoomWebhooks


@asynccontextmanager
async def harness(*, call_timeout: float = 2.0) -> AsyncIterator[ZoomHarness]:
    with serve_fake_zoom() as zoom:
        async with httpx.AsyncClient() as http:
            provider = ZoomProvider.from_values(
                account_id=zoom.fake.account_id,
                client_id=zoom.fake.client_id,
                client_secret=zoom.fake.client_secret,
                webhook_secret=zoom.fake.webhook_secret,
                api_url=zoom.api_url,
                oauth_url=f"{zoom.url}/oauth/token",
                http=http,
                timeout=call_timeout,
            )
            try:
                yield ZoomHarness(provider, ZoomWebhooks(zoom, provider.attendee_domain))
            finally:
                await provider.aclose()
