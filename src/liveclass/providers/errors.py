"""Errors of the hosted-provider clients, split by what the caller can do about them::

ProviderError              the provider answered and refused the call (4xx): its HTTP
                           status, its own error code and message; the control layer
                           decides (a 404 on delete is "already gone", others a 502)
Unavailable (domain)
└── ProviderUnavailable    unreachable, timed out, 5xx, rate-limited past our patience
                           or an unreadable answer: 503 PROVIDER_UNAVAILABLE, retry later
"""

from __future__ import annotations

from liveclass.domain.errors import Unavailable


class ProviderError(Exception):
    """The provider refused a call; ``code`` and ``message`` are the provider's own words."""

    def __init__(self, status: int, code: str, message: str, *, provider: str = "") -> None:
        where = f"{provider} " if provider else ""
        super().__init__(f"{where}refused the call: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.provider = provider


class ProviderUnavailable(Unavailable):
    """The provider could not be reached or failed on its side; nothing to fix in the request.
    The detail carries the provider's own error text when it gave one."""

    status = 503
    code = "PROVIDER_UNAVAILABLE"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider} is unavailable ({reason}); try again later.")
        self.provider = provider
        self.reason = reason
