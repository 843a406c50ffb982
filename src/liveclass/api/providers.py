"""Webhooks from video providers: ``POST /providers/{provider}/webhook``.

Each provider signs its webhooks its own way; ``WEBHOOKS`` maps a provider's name to the
receiver that checks the signature and hands the event to the control layer. A bad, missing
or stale signature is a 401 and changes nothing; a repeated event is answered 200 again
(providers retry until they get a 2xx) and changes nothing either. A provider that checks
the endpoint first by a query parameter (Graph's ``validationToken``) gets its answer, in
JSON or as plain text as it asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from liveclass.api.deps import ServicesDep
from liveclass.control import hosted_downloads, hosted_events, livekit_events
from liveclass.domain.errors import NotFound
from liveclass.media.livekit_tokens import WebhookEvent, verify_webhook
from liveclass.providers.catalog import HOSTED
from liveclass.providers.hosted import Challenge, ChallengedByQuery
from liveclass.services import Services

router = APIRouter(tags=["providers"])

WebhookReceiver = Callable[
    [Services, bytes, Mapping[str, str], Mapping[str, str]], Awaitable[str | Challenge]
]
"""Verify one delivery (raw body, headers, query) and apply it; the outcome, for the
answer, or the challenge's answer (Zoom's url_validation, Daily's verification ping,
Graph's validationToken)."""


async def _livekit(
    services: Services, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
) -> str:
    settings = services.settings
    key, secret = settings.livekit_api_key, settings.livekit_api_secret
    if not settings.livekit_configured or key is None or secret is None:
        raise _not_configured("livekit")
    # LiveKit puts the raw JWT in Authorization; "Bearer " is tolerated for proxies
    authorization = headers.get("authorization")
    if authorization is not None and authorization.lower().startswith("bearer "):
        authorization = authorization[7:]
    event = verify_webhook(
        body=body,
        authorization=authorization,
        api_key=key,
        api_secret=secret.get_secret_value(),
    )
    outcome = await livekit_events.receive(services, WebhookEvent.parse(event), body=body)
    return outcome.value


# downloads started by webhooks, kept referenced until they finish
_DOWNLOADS: set[asyncio.Task[int]] = set()


def _hosted(name: str) -> WebhookReceiver:
    """The receiver of a hosted provider (``providers/catalog.py``): the provider verifies
    and reads the delivery, control applies its events."""

    async def receive(
        services: Services, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> str | Challenge:
        provider = services.hosted_provider(name)
        if provider is None:
            raise _not_configured(name)
        if isinstance(provider, ChallengedByQuery):
            challenge = provider.query_challenge(query)
            if challenge is not None:
                return challenge
        read = provider.read_webhook(headers, body)
        if isinstance(read, Challenge):
            return read
        outcome = await hosted_events.receive(services, provider, read)
        if outcome is hosted_events.Outcome.QUEUED:
            # fetched after the answer: the provider wants its 2xx within seconds
            task = asyncio.create_task(hosted_downloads.download_pending(services))
            _DOWNLOADS.add(task)
            task.add_done_callback(_DOWNLOADS.discard)
        return outcome.value

    return receive


WEBHOOKS: dict[str, WebhookReceiver] = {
    "livekit": _livekit,
    **{name: _hosted(name) for name in HOSTED},
}


def _not_configured(provider: str) -> NotFound:
    return NotFound(
        f"Provider {provider!r} is not configured on this server.",
        code="PROVIDER_UNAVAILABLE",
        field="provider",
    )


@router.post(
    "/providers/{provider}/webhook",
    summary="Receive a video provider's webhook (LiveKit, Daily, and every hosted provider)",
    responses={
        200: {
            "description": "The delivery's outcome, or the answer to the provider's check"
            " of the endpoint (plain text for Graph's validationToken)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "INVALID_WEBHOOK_SIGNATURE: not signed by the provider"},
        404: {"description": "PROVIDER_UNAVAILABLE: no such provider on this server"},
        422: {"description": "INVALID_WEBHOOK_BODY"},
    },
)
async def webhook(provider: str, request: Request, services: ServicesDep) -> Response:
    receive = WEBHOOKS.get(provider)
    if receive is None:
        raise _not_configured(provider)
    body = await request.body()
    outcome = await receive(services, body, request.headers, request.query_params)
    if isinstance(outcome, Challenge):
        if outcome.text is not None:
            return PlainTextResponse(outcome.text)
        answer: Any = dict(outcome.answer)
        return JSONResponse(answer)
    return JSONResponse({"provider": provider, "outcome": outcome})
