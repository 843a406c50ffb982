"""What a hosted provider cannot do from liveclass's side, said as such rather than faked.

``NotSupported`` (409 NOT_SUPPORTED_BY_PROVIDER) is raised by a protocol step the provider
has no API for, e.g. starting a Jitsi recording, which only a moderator can do from inside
the Jitsi client. The caller learns what to do instead from the detail; nothing was changed.
"""

from __future__ import annotations

from liveclass.domain.errors import DomainError


class NotSupported(DomainError):
    """The provider offers no way to do this from a server; the detail says where it is done."""

    status = 409
    code = "NOT_SUPPORTED_BY_PROVIDER"
    title = "Not supported by the provider"

    def __init__(self, provider: str, what: str, instead: str) -> None:
        super().__init__(f"{provider} cannot {what} through its API; {instead}.")
        self.provider = provider
        self.what = what
