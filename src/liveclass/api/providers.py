"""Webhooks from video providers: ``POST /providers/{provider}/webhook``.

Each provider signs its webhooks its own way; ``WEBHOOKS`` maps a provider's name to the
receiver that checks the signature and hands the event to the control layer. A bad, missing
or stale signature is a 401 and changes nothing; a repeated event is answered 200 again
(providers retry until they get a 2xx) and changes nothing either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from liveclass.api.deps import ServicesDep
from liveclass.control import livekit_events
from liveclass.domain.errors import NotFound
from liveclass.media.livekit_tokens import WebhookEvent, verify_webhook
from liveclass.services import Services

router = APIRouter(tags=["providers"])

WebhookReceiver = Callable[[Services, bytes, Mapping[str, str]], Awaitable[str]]
"""Verify one delivery (raw body, headers) and apply it; the outcome, for the answer."""


async def _livekit(services: Services, body: bytes, headers: Mapping[str, str]) -> str:
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


WEBHOOKS: dict[str, WebhookReceiver] = {"livekit": _livekit}


def _not_configured(provider: str) -> NotFound:
    return NotFound(
        f"Provider {provider!r} is not configured on this server.",
        code="PROVIDER_UNAVAILABLE",
        field="provider",
    )


@router.post(
    "/providers/{provider}/webhook",
    summary="Receive a video provider's webhook (LiveKit: signed JWT in Authorization)",
    responses={
        401: {"description": "INVALID_WEBHOOK_SIGNATURE: not signed by the provider"},
        404: {"description": "PROVIDER_UNAVAILABLE: no such provider on this server"},
        422: {"description": "INVALID_WEBHOOK_BODY"},
    },
)
async def webhook(provider: str, request: Request, services: ServicesDep) -> JSONResponse:
    receive = WEBHOOKS.get(provider)
    if receive is None:
        raise _not_configured(provider)
    body = await request.body()
    outcome = await receive(services, body, request.headers)
    return JSONResponse({"provider": provider, "outcome": outcome})
