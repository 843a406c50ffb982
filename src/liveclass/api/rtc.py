"""``GET /api/v1/rtc/config``: the ICE servers a browser should use.

TURN credentials follow coturn's REST API (``use-auth-secret``): the username is
``<expiry unix time>:<user id>`` and the password is base64(HMAC-SHA1(secret, username)),
so coturn can check them without asking us.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from liveclass.api.deps import ServicesDep
from liveclass.control.participants import still_in
from liveclass.domain.errors import Unauthorized

router = APIRouter(tags=["realtime"])
_bearer = HTTPBearer(
    auto_error=False, description="The platform's JWT, or a classroom access token."
)


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class RtcConfig(BaseModel):
    ice_servers: list[IceServer] = Field(description="Pass as RTCPeerConnection iceServers.")
    ttl_seconds: int = Field(description="How long the TURN credentials stay valid.")


def turn_credentials(secret: str, user_id: str, *, ttl_seconds: int, now: float) -> tuple[str, str]:
    """coturn REST-API credentials: a time-limited username and its HMAC."""
    username = f"{int(now) + ttl_seconds}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


async def _user_id(services: ServicesDep, token: str) -> str:
    # A classroom page holds only its access token; a platform backend holds its JWT.
    try:
        claims = services.issuer.verify_access(token)
    except Unauthorized:
        return (await services.verifier.verify(token)).user_id
    # A signature outlives a kick: the participant must still be in, as for the socket.
    await still_in(services, claims)
    return claims.user_id


@router.get(
    "/rtc/config",
    summary="ICE servers (STUN, and TURN with ephemeral credentials) for WebRTC",
    responses={
        401: {"description": "No valid platform JWT or access token (TOKEN_INVALID)"},
        403: {"description": "The access token's participant was removed (KICKED, NOT_IN_SESSION)"},
        409: {"description": "The access token's session has ended (SESSION_ENDED)"},
    },
)
async def rtc_config(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> RtcConfig:
    if credentials is None:
        raise Unauthorized("A bearer token is required.", code="TOKEN_MISSING")
    user_id = await _user_id(services, credentials.credentials)
    settings = services.settings
    servers = [IceServer(urls=settings.stun_urls)] if settings.stun_urls else []
    if settings.turn_urls and settings.turn_secret is not None:
        username, credential = turn_credentials(
            settings.turn_secret.get_secret_value(),
            user_id,
            ttl_seconds=settings.turn_ttl_seconds,
            now=time.time(),
        )
        servers.append(IceServer(urls=settings.turn_urls, username=username, credential=credential))
    return RtcConfig(ice_servers=servers, ttl_seconds=settings.turn_ttl_seconds)
