"""Verifying the platform's JWT: HS256 with ``JWT_SECRET`` or RS256 keys from ``JWT_JWKS_URL``."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from liveclass.config import Settings
from liveclass.domain.errors import Unauthorized, Unavailable
from liveclass.domain.roles import is_admin, is_creator


@dataclass(frozen=True, slots=True)
class Caller:
    """The person a platform JWT speaks for."""

    user_id: str
    name: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return is_admin(self.roles)

    @property
    def may_create_sessions(self) -> bool:
        return is_creator(self.roles)


class JwksCache:
    """Fetches the platform's JSON Web Key Set and keeps it for ``ttl`` seconds."""

    def __init__(self, url: str, *, ttl: float = 300.0) -> None:
        self.url = url
        self.ttl = ttl
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0

    async def key_for(self, kid: str | None) -> jwt.PyJWK:
        if time.monotonic() - self._fetched_at > self.ttl or (kid and kid not in self._keys):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise Unauthorized("The token's signing key is unknown.", code="TOKEN_INVALID")
        return self._keys[kid]

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            raise Unavailable(
                "The platform's key set could not be fetched.", code="JWKS_UNAVAILABLE"
            ) from exc
        self._keys = {k.key_id or "": k for k in jwks.keys}
        self._fetched_at = time.monotonic()


class VerifiedTokens:
    """Tokens already verified, so a caller's next requests skip the signature check.

    An entry lasts until the token's ``exp`` and at most ``ttl`` seconds (the JWKS cache's
    lifetime, so a key the platform withdraws stops being trusted as soon as it would be
    without this cache). The oldest entries go first beyond ``size``.
    """

    def __init__(self, *, size: int = 8192, ttl: float = 300.0) -> None:
        self.size = size
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    def get(self, token: str) -> Caller | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        caller, until = entry
        if time.time() >= until:
            del self._entries[token]
            return None
        return caller

    def put(self, token: str, caller: Caller, expires_at: float) -> None:
        self._entries[token] = (caller, min(expires_at, time.time() + self.ttl))
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)


class PlatformVerifier:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks = JwksCache(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._audience = settings.jwt_audience
        self._issuer = settings.jwt_issuer
        self._verified = VerifiedTokens()

    async def verify(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None:
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed.", code="TOKEN_INVALID") from exc
        key, algorithm = await self._key_for(header)
        claims = self._decode(token, key, algorithm)
        caller = _caller_from(claims)
        self._verified.put(token, caller, float(claims["exp"]))
        return caller

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        alg = header.get("alg")
        if alg == "HS256" and self._secret is not None:
            return self._secret, "HS256"
        if alg == "RS256" and self._jwks is not None:
            return (await self._jwks.key_for(header.get("kid"))).key, "RS256"
        raise Unauthorized(f"Tokens signed with {alg!r} are not accepted.", code="TOKEN_INVALID")

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The bearer token has expired.", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(
                f"The bearer token is invalid: {exc}.", code="TOKEN_INVALID"
            ) from exc


def _caller_from(claims: dict[str, Any]) -> Caller:
    sub, name, roles = claims.get("sub"), claims.get("name"), claims.get("roles", [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(sub, str) or not sub or len(sub) > 128 or "\x00" in sub:
        raise Unauthorized("The token's sub claim must be a user id.", code="TOKEN_INVALID")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("The token's roles claim must be a list.", code="TOKEN_INVALID")
    display = name.replace("\x00", "") if isinstance(name, str) else ""
    display = display if display.strip() else sub
    return Caller(user_id=sub, name=display.strip()[:200], roles=frozenset(roles))


def mint_platform_token(
    secret: str, *, sub: str, name: str, roles: list[str], ttl_seconds: int = 3600
) -> str:
    """A platform-style HS256 JWT, for trying the API (`liveclass token`) and for tests."""
    now = int(time.time())
    claims = {"sub": sub, "name": name, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
