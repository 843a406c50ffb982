"""Delivering outbox events as signed webhooks, with retries and exponential backoff.

Each POST carries ``Webhook-Id`` (the event id: receivers de-duplicate on it),
``Webhook-Timestamp`` (unix seconds) and ``Webhook-Signature``:
``v1=`` + hex HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` with ``WEBHOOK_SECRET``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import httpx

from liveclass.config import Settings
from liveclass.db import outbox
from liveclass.db.database import Database, Tx
from liveclass.db.outbox import OutboxEvent
from liveclass.db.types import utcnow

log = logging.getLogger(__name__)

BATCH = 50
MAX_BACKOFF = timedelta(hours=1)


def sign(secret: str, *, event_id: str, timestamp: int, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, *, event_id: str, timestamp: int, body: bytes, signature: str) -> bool:
    """What a receiving platform does; also used by our tests."""
    return hmac.compare_digest(
        sign(secret, event_id=event_id, timestamp=timestamp, body=body), signature
    )


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


def _body(event: OutboxEvent) -> bytes:
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.event_type,
            "created_at": event.created_at.isoformat(),
            "data": event.payload,
        },
        separators=(",", ":"),
    ).encode()


class WebhookSender:
    def __init__(
        self,
        db: Database,
        *,
        url: str,
        secret: str,
        max_attempts: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._db = db
        self._url = url
        self._secret = secret
        self._max_attempts = max_attempts
        self._client = client or httpx.AsyncClient(timeout=10.0)

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, client: httpx.AsyncClient | None = None
    ) -> WebhookSender:
        """The sender ``WEBHOOK_URL``, ``WEBHOOK_SECRET`` and ``WEBHOOK_MAX_ATTEMPTS`` say."""
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        return cls(
            db,
            url=settings.webhook_url,
            secret=settings.webhook_secret.get_secret_value(),
            max_attempts=settings.webhook_max_attempts,
            client=client,
        )

    async def deliver_due(self) -> int:
        """One pass over due events; returns how many were delivered."""
        delivered = 0
        async with self._db.transaction() as tx:
            events = await outbox.due_events(tx, now=utcnow(), limit=BATCH)
            for event in events:
                if await self._post(tx, event):
                    await outbox.delivered(tx, event_id=event.id, at=utcnow())
                    delivered += 1
        return delivered

    async def _post(self, tx: Tx, event: OutboxEvent) -> bool:
        body, timestamp = _body(event), int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Webhook-Id": str(event.id),
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(
                self._secret, event_id=str(event.id), timestamp=timestamp, body=body
            ),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
            if response.is_success:
                return True
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = event.attempts + 1
        if attempts >= self._max_attempts:
            # Parked, not lost: the row stays with its error for an operator to replay.
            again = utcnow() + timedelta(days=3650)
        else:
            again = utcnow() + backoff(attempts)
        await outbox.failed(tx, event=event, error=error[:1000], next_attempt_at=again)
        return False

    async def run_forever(self, *, every_seconds: float = 1.0) -> None:
        try:
            while True:
                try:
                    await self.deliver_due()
                except Exception:  # a bad pass must not stop delivery for good
                    log.exception("webhook delivery pass failed")
                await asyncio.sleep(every_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        await self._client.aclose()
