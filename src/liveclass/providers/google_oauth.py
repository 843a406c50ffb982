"""Google OAuth 2.0 access tokens for liveclass's calls to Google APIs (Meet, Drive).

Credentials: an OAuth refresh token of the Workspace user whose spaces liveclass makes
(``GOOGLE_CLIENT_ID`` / ``GOOGLE_CLIENT_SECRET`` / ``GOOGLE_REFRESH_TOKEN``). A token is
``POST {oauth_url}`` with the form ``grant_type=refresh_token&client_id&client_secret&
refresh_token``, answered ``{access_token, expires_in, token_type, scope}``; Google's
refusals are ``{error, error_description}`` (``invalid_grant`` for a revoked refresh token).

``GoogleTokenSource`` keeps one token until shortly before it expires and fetches the next
under a lock, so concurrent calls cost one token request and share its failure; a caller
refused with 401 drops that token (``invalidate``) and asks again.

Not done: a service account with domain-wide delegation (a JWT-bearer grant signed RS256
with the account's key, ``sub`` = the delegated user). The refresh-token grant covers the
seed's settings; the delegation grant would be a second ``_fetch`` on the same source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.json_fields import integer, text

GOOGLE_OAUTH_URL = "https://oauth2.googleapis.com/token"
PROVIDER = "Google"
DEFAULT_TIMEOUT = 10.0
# replaced this long before Google says it expires, so no call carries a token dying in flight
REFRESH_MARGIN = 60.0

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RefreshCredentials:
    client_id: str
    client_secret: str
    refresh_token: str

    def form(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float  # on the source's clock


class GoogleTokenSource:
    """Access tokens from one refresh token, cached and shared by concurrent callers."""

    def __init__(
        self,
        credentials: RefreshCredentials,
        *,
        http: httpx.AsyncClient,
        oauth_url: str = GOOGLE_OAUTH_URL,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        self.oauth_url = oauth_url
        self._credentials = credentials
        self._http = http
        self._timeout = httpx.Timeout(timeout)
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._settled = 0  # token requests answered so far, either way
        self._failure: ProviderError | ProviderUnavailable | None = None

    async def token(self) -> str:
        """A valid access token: the cached one, or one fresh request shared by all waiters."""
        cached = self._usable()
        if cached is not None:
            return cached
        settled = self._settled
        async with self._lock:
            cached = self._usable()
            if cached is not None:
                return cached  # fetched by whoever held the lock before us
            if self._settled != settled and self._failure is not None:
                raise self._failure  # the request we queued behind failed: share its answer
            try:
                self._token = await self._fetch()
            except (ProviderError, ProviderUnavailable) as exc:
                self._failure = exc
                raise
            else:
                self._failure = None
            finally:
                self._settled += 1
            return self._token.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Google refused it); a newer one fetched meanwhile is kept."""
        if self._token is not None and self._token.value == token:
            self._token = None

    def _usable(self) -> str | None:
        token = self._token
        if token is None or self._clock() >= token.renew_at:
            return None
        return token.value

    async def _fetch(self) -> _Token:
        try:
            response = await self._http.post(
                self.oauth_url,
                data=self._credentials.form(),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"OAuth: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _refusal(response)
        reply = _json_object(response)
        value, expires_in = text(reply, "access_token"), integer(reply, "expires_in")
        if not value or expires_in <= 0:
            raise ProviderUnavailable(PROVIDER, "OAuth answered no access_token/expires_in")
        lifetime = max(expires_in - REFRESH_MARGIN, expires_in / 2)
        return _Token(value, self._clock() + lifetime)


def _refusal(response: httpx.Response) -> ProviderError | ProviderUnavailable:
    error = _error_body(response)
    code = text(error, "error") or str(response.status_code)
    message = text(error, "error_description") or response.text[:200].strip()
    if response.status_code >= 500 or response.status_code == 429:
        return ProviderUnavailable(PROVIDER, f"OAuth {response.status_code} {code}: {message}")
    return ProviderError(PROVIDER, response.status_code, code, message)


def _error_body(response: httpx.Response) -> Mapping[str, Any]:
    try:
        error = response.json()
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        reply = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(PROVIDER, "OAuth answered no JSON") from exc
    if not isinstance(reply, dict):
        raise ProviderUnavailable(PROVIDER, "OAuth answered no JSON object")
    return reply
