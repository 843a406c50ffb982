"""Errors raised by domain rules.

Every domain error carries a stable ``code`` and an HTTP-ish ``status`` so the API
layer can turn it into an RFC 9457 problem without knowing each rule::

    DomainError
    ├── InvalidState        409 INVALID_STATE  (illegal lifecycle transition)
    ├── NotAllowed          403 NOT_HOST, FORBIDDEN, ... (role does not permit the action)
    ├── NotFound            404 *_NOT_FOUND
    ├── Conflict            409 SESSION_FULL, KICKED, ...
    ├── Invalid             422 VALIDATION_ERROR and friends (rule-level input errors)
    └── Unavailable         503 MEDIA_UNAVAILABLE, ... (a dependency is down; retry later)
"""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "BAD_REQUEST"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field


class InvalidState(DomainError):
    status = 409
    code = "INVALID_STATE"
    title = "Invalid state"


class NotAllowed(DomainError):
    status = 403
    code = "FORBIDDEN"
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    title = "Conflict"


class Invalid(DomainError):
    status = 422
    code = "VALIDATION_ERROR"
    title = "Invalid input"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"
    title = "Unauthorized"


class Unavailable(DomainError):
    status = 503
    code = "UNAVAILABLE"
    title = "Service unavailable"
