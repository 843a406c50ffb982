"""JitsiProvider (Jitsi as a Service) and the fake JaaS, for the hosted-provider contract suite.

``async with harness() as (provider, webhooks):`` gives a JaaS ``JitsiProvider`` with a
fresh RSA key and a ``JaasWebhooks`` whose methods answer deliveries signed as JaaS signs
them, each as ``(headers, body)`` for ``provider.read_webhook`` (or a POST to
``/api/v1/providers/jitsi/webhook``). The recording link of ``recording_ready`` is served by
the fake on 127.0.0.1, so ``provider.download`` fetches real bytes.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from liveclass.domain.roles import Role
from liveclass.providers.hosted import Attendee, Meeting
from liveclass.providers.jitsi import JitsiProvider
from tests.support.fake_jaas import FakeJaas, serve_fake_jaas

Delivery = tuple[dict[str, str], bytes]
APP_ID = "vpaas-magic-cookie-0123456789abcdef0123456789abcdef"
KEY_ID = "liveclass-key-1"


def new_private_key() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


class JaasWebhooks:
    """Deliveries JaaS would send for a room."""

    def __init__(self, fake: FakeJaas, key: rsa.RSAPrivateKey) -> None:
        self.fake = fake
        self.key = key  # the public half is what the 8x8 console would hold

    def _signed(
        self,
        event_type: str,
        meeting: Meeting,
        data: dict[str, object],
        at: datetime.datetime | None,
    ) -> Delivery:
        event = self.fake.event(event_type, meeting.meeting_id, dict(data))
        if at is not None:
            event["timestamp"] = int(at.timestamp() * 1000)
        return self.fake.sign(event)

    def meeting_started(self, meeting: Meeting, *, at: datetime.datetime) -> Delivery:
        return self._signed("ROOM_CREATED", meeting, {"conference": meeting.meeting_id}, at)

    def meeting_ended(self, meeting: Meeting, *, at: datetime.datetime) -> Delivery:
        return self._signed("ROOM_DESTROYED", meeting, {"conference": meeting.meeting_id}, at)

    def participant_joined(
        self, meeting: Meeting, who: Attendee, *, at: datetime.datetime, connection: str = "1"
    ) -> Delivery:
        return self._signed(
            "PARTICIPANT_JOINED", meeting, _participant(meeting, who, connection), at
        )

    def participant_left(
        self, meeting: Meeting, who: Attendee, *, at: datetime.datetime, connection: str = "1"
    ) -> Delivery:
        data = {**_participant(meeting, who, connection), "disconnectReason": "left"}
        return self._signed("PARTICIPANT_LEFT", meeting, data, at)

    def recording_ready(self, meeting: Meeting, content: bytes | None = None) -> Delivery:
        event = self.fake.recording_uploaded(
            meeting.meeting_id, content or secrets.token_bytes(150_000)
        )
        return self.fake.sign(event)


def _participant(meeting: Meeting, who: Attendee, connection: str) -> dict[str, object]:
    # what JaaS reports is the token's context.user, and the occupant's JID in the room
    occupant = f"{who.participant_id.hex[:8]}{connection}"
    return {
        "moderator": "true" if who.role in (Role.HOST, Role.CO_HOST) else "false",
        "name": who.name,
        "group": "",
        "email": "",
        "id": who.user_id,
        "participantJid": f"{meeting.meeting_id}@conference/{occupant}",
    }


class JitsiHarness(NamedTuple):
    provider: JitsiProvider
    webhooks: JaasWebhooks


@asynccontextmanager
async def harness() -> AsyncIterator[JitsiHarness]:
    key, pem = new_private_key()
    secret = secrets.token_urlsafe(24)
    with serve_fake_jaas(app_id=APP_ID, webhook_secret=secret) as fake:
        provider = JitsiProvider.jaas(
            app_id=APP_ID, key_id=KEY_ID, private_key=pem, webhook_secret=secret
        )
        try:
            yield JitsiHarness(provider, JaasWebhooks(fake, key))
        finally:
            await provider.aclose()
