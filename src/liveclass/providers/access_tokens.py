"""OAuth 2.0 bearer tokens for providers' APIs, cached the same way for every provider.

Each provider asks its own token endpoint its own way (Zoom: account credentials with
Basic auth; Google: a refresh token; Microsoft: client credentials), and every one answers
``{access_token, expires_in, token_type}`` (RFC 6749 section 5.1) or a refusal
``{error, error_description}`` (section 5.2; Zoom writes ``reason``). ``request_token``
sends one such request; ``AccessTokens`` keeps the answer:

- one token until ``REFRESH_MARGIN`` before it expires, so no call carries a token that
  dies in flight;
- one request at a time: concurrent callers wait for the request under way and share its
  token, or its failure (rather than each sending one more and waiting one more timeout);
- ``invalidate(token)`` after the API refused it (401); a newer token fetched meanwhile is
  kept, so several calls refused at once cause one new request; ``authorized(send)`` is
  one API call that does so and tries once more with the new token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.json_fields import integer, text
from liveclass.providers.transport import error_body, json_answer

REFRESH_MARGIN = 60.0

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token endpoint's answer: the token and the seconds it lives."""

    value: str
    expires_in: int


Fetch = Callable[[], Awaitable[IssuedToken]]
Send = Callable[[str], Awaitable[httpx.Response]]  # one API call with this bearer token


@dataclass(frozen=True, slots=True)
class _Cached:
    value: str
    renew_at: float  # on the cache's clock


class AccessTokens:
    """The current token of one credential, fetched by ``fetch`` when there is none."""

    def __init__(self, fetch: Fetch, *, clock: Clock = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: _Cached | None = None
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
                issued = await self._fetch()
            except (ProviderError, ProviderUnavailable) as exc:
                self._failure = exc
                raise
            else:
                self._failure = None
            finally:
                self._settled += 1
            lifetime = max(issued.expires_in - REFRESH_MARGIN, issued.expires_in / 2)
            self._token = _Cached(issued.value, self._clock() + lifetime)
            return issued.value

    async def authorized(self, send: Send) -> httpx.Response:
        """``send(token)`` with the current token; when the API refuses that token (401),
        once more with a new one. The answer is the caller's to read."""
        token = await self.token()
        response = await send(token)
        if response.status_code == 401:
            self.invalidate(token)
            response = await send(await self.token())
        return response

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API refused it); a newer one fetched meanwhile is kept."""
        if self._token is not None and self._token.value == token:
            self._token = None

    def _usable(self) -> str | None:
        token = self._token
        if token is None or self._clock() >= token.renew_at:
            return None
        return token.value


async def request_token(
    http: httpx.AsyncClient,
    provider: str,
    url: str,
    *,
    limit: httpx.Timeout,
    data: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> IssuedToken:
    """POST one token request; its token, or ``ProviderUnavailable`` (down, timed out, 429,
    5xx, an unreadable answer) or ``ProviderError`` (the credential was refused)."""
    try:
        response = await http.post(
            url,
            data=dict(data) if data is not None else None,
            params=dict(params or {}),
            headers={"Accept": "application/json", **dict(headers or {})},
            timeout=limit,
        )
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(provider, f"OAuth: {_failure(exc)}") from exc
    if response.status_code != 200:
        raise _refusal(provider, response)
    reply = json_answer(provider, response, "OAuth")
    value, expires_in = text(reply, "access_token"), integer(reply, "expires_in")
    if not value or expires_in <= 0:
        raise ProviderUnavailable(provider, "OAuth answered no access_token/expires_in")
    return IssuedToken(value, expires_in)


def _refusal(provider: str, response: httpx.Response) -> ProviderError | ProviderUnavailable:
    error = error_body(response)
    code = text(error, "error") or str(response.status_code)
    message = (
        text(error, "error_description")
        or text(error, "reason")
        or text(error, "message")
        or response.text[:200].strip()
    )
    if response.status_code >= 500 or response.status_code == 429:
        return ProviderUnavailable(provider, f"OAuth {response.status_code} {code}: {message}")
    return ProviderError(provider, response.status_code, code, message)


def _failure(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"unreachable ({type(exc).__name__})"
