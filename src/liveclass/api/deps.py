"""FastAPI dependencies as ``Annotated`` aliases: who is calling, and the shared services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from liveclass.app_state import ServicesDep, get_services
from liveclass.auth.platform import Caller
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Unauthorized
from liveclass.services import Services

__all__ = ["CallerDep", "ServicesDep", "actor_of", "bearer_token", "get_caller", "get_services"]

_bearer = HTTPBearer(auto_error=False, description="The platform's JWT for the calling user.")


bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_caller(services: ServicesDep, credentials: bearer) -> Caller:
    # HTTPBearer(auto_error=False) gives None unless the scheme is Bearer with a token
    return await caller_by_token(services, credentials.credentials if credentials else None)


async def caller_by_token(services: Services, token: str | None) -> Caller:
    """The caller a platform JWT names; no token at all is a 401 ``TOKEN_MISSING``."""
    if token is None:
        raise Unauthorized("A bearer token is required.", code="TOKEN_MISSING")
    return await services.verifier.verify(token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, as HTTPBearer reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


CallerDep = Annotated[Caller, Depends(get_caller)]


def actor_of(caller: Caller) -> Actor:
    """The platform caller as the control layer's actor."""
    return Actor(user_id=caller.user_id, name=caller.name, is_admin=caller.is_admin)
