"""One HTTP exchange with a hosted provider, with the failure rules every provider shares:
a bounded timeout, transport errors and 5xx as ``ProviderUnavailable``, and a 429 answered
by waiting its ``Retry-After`` once (when that wait is within our cap) and trying again."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from liveclass.providers.errors import ProviderUnavailable
from liveclass.providers.json_fields import submessage

DEFAULT_TIMEOUT = 10.0
# Longer than this and the caller (a request handler) is better told to come back later.
DEFAULT_MAX_RETRY_WAIT = 5.0


class ProviderTransport:
    """Sends requests for one provider; the caller reads the answer's status and body."""

    def __init__(
        self,
        provider: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
    ) -> None:
        self.provider = provider
        self.timeout = httpx.Timeout(timeout)
        self.max_retry_wait = max_retry_wait
        self._http = http or httpx.AsyncClient(timeout=self.timeout)
        self._owns_http = http is None

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The answer to one request (4xx included); ``ProviderUnavailable`` for the rest.
        ``kwargs`` go to httpx and must be re-sendable (bytes, not a stream)."""
        response = await self._send_once(method, url, **kwargs)
        if response.status_code == 429:
            await asyncio.sleep(self._retry_wait(response))
            response = await self._send_once(method, url, **kwargs)
            if response.status_code == 429:
                raise ProviderUnavailable(self.provider, "rate limited twice (429)")
        if response.status_code >= 500:
            raise ProviderUnavailable(self.provider, f"{response.status_code}: {_gist(response)}")
        return response

    async def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(self.provider, type(exc).__name__) from exc

    async def call(
        self,
        method: str,
        url: str,
        *,
        refusal: Callable[[str, httpx.Response], Exception],
        what: str,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``send``, then the answer's JSON object; a 4xx raises ``refusal(what, response)``,
        the provider's own reading of its error body (``what`` names the call)."""
        response = await self.send(method, url, **kwargs)
        if response.status_code >= 400:
            raise refusal(what, response)
        return json_object(self.provider, response, what)

    def _retry_wait(self, response: httpx.Response) -> float:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None or wait > self.max_retry_wait:
            asked = response.headers.get("Retry-After", "no Retry-After")
            raise ProviderUnavailable(self.provider, f"rate limited (429, retry after: {asked})")
        return wait


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` of delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def json_object(provider: str, response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a provider answered. Anything else is not its documented answer (a
    proxy's page, a cut-off body): the provider is treated as down, not as refusing."""
    try:
        reply = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(provider, f"{what} answered no JSON") from exc
    if not isinstance(reply, dict):
        raise ProviderUnavailable(provider, f"{what} answered no JSON object")
    return reply


def error_body(response: httpx.Response) -> Mapping[str, Any]:
    """A refusal's JSON object, or an empty one when its body is something else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def body_gist(response: httpx.Response, fallback: str) -> str:
    """The start of a refusal's body, to show when it carries no message of the provider's."""
    return response.text[:200].strip() or fallback


def _gist(response: httpx.Response) -> str:
    return response.text[:300].strip() or response.reason_phrase


def json_answer(provider: str, response: httpx.Response, what: str) -> dict[str, Any]:
    """``json_object``, or ``{}`` for an empty body (a 204)."""
    return json_object(provider, response, what) if response.content else {}


def error_object(response: httpx.Response) -> Mapping[str, Any]:
    """The ``error`` object of a refusal shaped ``{error: {code, message, ...}}`` (Google's
    and Microsoft Graph's APIs); empty when the body is not one."""
    return submessage(error_body(response), "error")
