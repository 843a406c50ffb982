"""FastAPI dependencies as ``Annotated`` aliases: who is calling, and the shared services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from liveclass.auth.platform import Caller
from liveclass.domain.errors import Unauthorized
from liveclass.services import Services

_bearer = HTTPBearer(auto_error=False, description="The platform's JWT for the calling user.")


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency on a worker thread, a thread
    # hop on every request for what is an attribute read
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_caller(services: ServicesDep, credentials: bearer) -> Caller:
    if credentials is None:
        return await verify_bearer(services, None)
    return await verify_bearer(services, f"{credentials.scheme} {credentials.credentials}")


async def verify_bearer(services: Services, authorization: str | None) -> Caller:
    """The caller named by an ``Authorization: Bearer <platform JWT>`` header value."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized("A bearer token is required.", code="TOKEN_MISSING")
    return await services.verifier.verify(token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, as HTTPBearer reads it."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


CallerDep = Annotated[Caller, Depends(get_caller)]
