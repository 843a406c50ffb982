"""RFC 9457 problem details: every error the API returns has this shape and a stable ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from liveclass.domain.errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"https://liveclass.dev/problems/{code.lower().replace('_', '-')}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        errors=errors or [],
    )
    return JSONResponse(
        body.model_dump(), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [FieldError(field=exc.field, message=exc.detail)] if exc.field else None
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=errors,
        headers=headers,
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_field_name(tuple(e.get("loc", ()))), message=str(e.get("msg", "")))
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(
            request,
            status=400,
            code="MALFORMED_JSON",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
            errors=errors,
        )
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem_response(
        request,
        status=422,
        code="VALIDATION_ERROR",
        title="Invalid input",
        detail=detail,
        errors=errors,
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=code.replace("_", " ").capitalize(),
        detail=detail,
        headers=getattr(exc, "headers", None),
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        status=500,
        code="INTERNAL_ERROR",
        title="Internal error",
        detail="Something went wrong on our side; it has been logged.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    _document_problems(app)


_BODY_ERRORS = {
    "400": "Malformed JSON",
    "413": "The request body is too large",
    "422": "Invalid input; `errors` names each field",
}


def _document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers above do: every 4xx/5xx answer is a
    problem (``application/problem+json``), and bodies may be refused as malformed (400),
    too large (413) or invalid (422)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _document_operation(operation, content)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(operation: dict[str, Any], content: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        for status, description in _BODY_ERRORS.items():
            responses.setdefault(status, {"description": description})
    if operation.get("parameters"):
        responses.setdefault("422", {"description": _BODY_ERRORS["422"]})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = content
