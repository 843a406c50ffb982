"""Which media providers this server runs: a session names one, the server must have it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from liveclass.domain.errors import Invalid

B = TypeVar("B")


def configured_backend(backends: Mapping[str, B], provider: str) -> B:
    try:
        return backends[provider]
    except KeyError:
        raise Invalid(
            f"Provider {provider!r} is not configured on this server.",
            code="PROVIDER_UNAVAILABLE",
            field="provider",
        ) from None
