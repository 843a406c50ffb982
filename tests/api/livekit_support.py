"""Helpers for the API tests of LiveKit sessions (their app: ``tests/api/conftest.py``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from liveclass.services import Services
from tests.support.fake_livekit import FakeLiveKit

KEY = "APIliveclass"
SECRET = "livekit-secret-of-at-least-thirty-two-bytes"


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def deliver(
    client: httpx.AsyncClient, fake: FakeLiveKit, event: dict[str, Any], **signing: Any
) -> httpx.Response:
    """POST ``event`` to the webhook endpoint as LiveKit would, signed by ``fake``."""
    signed = fake.sign_webhook(event, **signing)
    return await client.post(
        "/api/v1/providers/livekit/webhook", content=signed.body, headers=signed.headers
    )


def participant_event(
    fake: FakeLiveKit, kind: str, room: str, identity: str, sid: str, at: int
) -> dict[str, Any]:
    event = fake.webhook_event(
        kind,
        room={"sid": "RM_x", "name": room},
        participant={"sid": sid, "identity": identity, "name": identity.title()},
    )
    event["created_at"] = at
    return event
