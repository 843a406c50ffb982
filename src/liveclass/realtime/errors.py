"""Realtime errors, split by who sees them::

RealtimeError
├── ProtocolError   the client sent something malformed: an ``error`` message, socket stays
├── UserError       a valid request the rules refuse: an ``error`` message for the user
└── CloseError      the socket must close with a code and reason (bad token, kicked, flood)
"""

from __future__ import annotations


class RealtimeError(Exception):
    def __init__(self, code: str, detail: str, *, type: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.type = type

    def as_message(self) -> dict[str, object]:
        message: dict[str, object] = {"type": "error", "code": self.code, "detail": self.detail}
        if self.type is not None:
            message["about"] = self.type
        return message


class ProtocolError(RealtimeError):
    pass


class UserError(RealtimeError):
    pass


class CloseError(RealtimeError):
    def __init__(self, close_code: int, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.close_code = close_code

    @property
    def reason(self) -> str:
        # A close reason is limited to 123 bytes; keep the stable code first.
        return f"{self.code}: {self.detail}".encode()[:123].decode(errors="ignore")
