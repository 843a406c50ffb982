"""What a hosted provider's wire code raises, split by what the caller can do about it::

DomainError
├── Unavailable
│   └── ProviderUnavailable  503 PROVIDER_UNAVAILABLE: down, timed out, 5xx, rate limited
│                            past our wait, or an unreadable answer; retry later
├── ProviderError            502 PROVIDER_UNAVAILABLE: the provider answered and refused
│                            (4xx); ``provider_status``/``provider_code``/``provider_message``
│                            say why (a meeting that is gone, a bad credential, ...)
└── Unauthorized
    └── WebhookRejected      401 INVALID_WEBHOOK_SIGNATURE: not signed by the provider,
                             or signed too long ago
"""

from __future__ import annotations

from liveclass.domain.errors import DomainError, Unauthorized, Unavailable


class ProviderUnavailable(Unavailable):
    """The provider could not be reached or failed on its side; nothing to fix in the request."""

    code = "PROVIDER_UNAVAILABLE"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider} is unavailable ({reason}); try again later.")
        self.provider = provider
        self.reason = reason


class ProviderError(DomainError):
    """The provider answered and refused the call; its own status, code and message are kept."""

    status = 502
    code = "PROVIDER_UNAVAILABLE"
    title = "Bad gateway"

    def __init__(self, provider: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{provider} refused the call: {status} {code}: {message}")
        self.provider = provider
        self.provider_status = status
        self.provider_code = code
        self.provider_message = message


class WebhookRejected(Unauthorized):
    """A webhook the provider did not sign for this body, or signed too long ago."""

    code = "INVALID_WEBHOOK_SIGNATURE"

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"The {provider} webhook was refused: {reason}.")
        self.provider = provider
        self.reason = reason
