"""Outbox webhooks against a real HTTP receiver on loopback."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select, update

from liveclass.config import Settings
from liveclass.db.tables import OUTBOX_EVENTS
from liveclass.db.types import utcnow
from liveclass.notify.webhooks import WebhookSender, verify
from liveclass.services import build_services
from tests.api.helpers import create_session
from tests.conftest import Platform, make_settings
from tests.support.webhooks import Receiver

SECRET = "webhook-secret-for-tests-0123456789"


@pytest.fixture
def sender_settings(database_url: str, receiver: Receiver) -> Settings:
    """The settings of the sender these tests drive by hand. The app under test keeps the
    default settings (no WEBHOOK_URL): its own background sender would race this one for
    the same events."""
    return make_settings(database_url, webhook_url=receiver.url, webhook_secret=SECRET)


async def test_events_are_signed_and_delivered_once(
    client: httpx.AsyncClient,
    platform: Platform,
    sender_settings: Settings,
    receiver: Receiver,
) -> None:
    session = await create_session(client, platform)
    services = build_services(sender_settings)
    sender = WebhookSender.from_settings(services.db, services.settings)
    try:
        assert await sender.deliver_due() == 1
        assert await sender.deliver_due() == 0  # delivered events are not sent again
    finally:
        await sender.close()
        await services.db.close()
    headers, body = receiver.received[0]
    assert verify(
        SECRET,
        event_id=headers["Webhook-Id"],
        timestamp=int(headers["Webhook-Timestamp"]),
        body=body,
        signature=headers["Webhook-Signature"],
    )
    assert not verify(
        "another-secret",
        event_id=headers["Webhook-Id"],
        timestamp=int(headers["Webhook-Timestamp"]),
        body=body,
        signature=headers["Webhook-Signature"],
    )
    event = json.loads(body)
    assert event["type"] == "session.created"
    assert event["data"]["session_id"] == session["id"]
    assert event["id"] == headers["Webhook-Id"]


async def test_failed_delivery_is_retried_later(
    client: httpx.AsyncClient,
    platform: Platform,
    sender_settings: Settings,
    receiver: Receiver,
) -> None:
    await create_session(client, platform)
    receiver.fail_next = 1
    services = build_services(sender_settings)
    sender = WebhookSender.from_settings(services.db, services.settings)
    try:
        assert await sender.deliver_due() == 0
        async with services.db.transaction() as tx:
            [row] = await tx.all(select(OUTBOX_EVENTS))
            assert row["attempts"] == 1
            assert row["last_error"] == "HTTP 503"
            assert row["delivered_at"] is None
            assert row["next_attempt_at"] > utcnow()
        assert await sender.deliver_due() == 0  # not due yet: backoff holds it back
        async with services.db.transaction() as tx:  # let the backoff pass
            await tx.run(update(OUTBOX_EVENTS).values(next_attempt_at=utcnow()))
        assert await sender.deliver_due() == 1
    finally:
        await sender.close()
        await services.db.close()
    assert len(receiver.received) == 1
