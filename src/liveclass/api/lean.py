"""Request binding for the hot endpoints (join, token refresh, list), without FastAPI's
per-parameter dependency solving.

FastAPI validates every query parameter, path parameter and dependency on its own, with
bookkeeping around each. Measured end to end on PostgreSQL (docs/benchmarks.md, "api/lean.py:
keep or drop"): bound the ordinary way, the same routes cost the server about 320 µs more CPU
per list (19% of the request) and 160-280 µs more per join (11-23%).

So these endpoints take only the ``Request`` and bind it here, and nowhere else (FastAPI
solves nothing for them; tests/api/test_lean_binding.py checks it): the caller from the
``Authorization`` header (the same check as ``deps.get_caller``), the query as one model,
the path's UUIDs and the JSON body with FastAPI's own rules. Errors are raised as FastAPI's
``RequestValidationError`` with the same locations (``query``/``path``/``body`` and the
name), so they become the same problem responses. ``documented`` writes the OpenAPI
description of what is bound here, from the same models, so the document stays the one
FastAPI would generate from a signature.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Schema
from pydantic import BaseModel, TypeAdapter, ValidationError

from liveclass.api.deps import bearer_token, caller_by_token
from liveclass.auth.platform import Caller
from liveclass.services import Services

M = TypeVar("M", bound=BaseModel)
_REF = "#/components/schemas/{model}"
_UUID: TypeAdapter[uuid.UUID] = TypeAdapter(uuid.UUID)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def caller_of(request: Request) -> Caller:
    """The platform user calling, from their bearer JWT (401 problems as for every route)."""
    token = bearer_token(request.headers.get("authorization"))
    return await caller_by_token(services_of(request), token)


def query_of(model: type[M], request: Request) -> M:
    """The query string as ``model``; a repeated parameter counts with its last value, and
    parameters the model does not name are ignored, as FastAPI does."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _invalid(exc, "query") from None


def path_uuid(request: Request, name: str) -> uuid.UUID:
    try:
        return _UUID.validate_python(request.path_params[name])
    except ValidationError as exc:
        raise _invalid(exc, "path", name) from None


async def body_of(model: type[M], request: Request) -> M | None:
    """An optional JSON body as ``model`` (None when empty or ``null``).

    FastAPI's rules: the body is read as JSON when the content type says JSON or there is
    none; any other content type leaves raw bytes, which then fail validation."""
    raw = await request.body()
    if not raw:
        return None
    adapter = _optional(model)
    try:
        if _is_json(request.headers.get("content-type")):
            value: M | None = adapter.validate_json(raw)
        else:
            value = adapter.validate_python(raw)
    except ValidationError as exc:
        raise _invalid(exc, "body") from None
    return value


@cache
def _optional(model: type[BaseModel]) -> TypeAdapter[Any]:
    optional: Any = model | None
    return TypeAdapter(optional)


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    kind = content_type.partition(";")[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _invalid(exc: ValidationError, where: str, *name: str) -> RequestValidationError:
    errors = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == "json_invalid":
            loc = ()  # pydantic gives no position in the body; FastAPI gives a character offset
        errors.append({**error, "loc": (where, *name, *loc)})
    return RequestValidationError(errors)


# -- the OpenAPI description of what is bound above ------------------------------------------


def documented(
    *,
    query: type[BaseModel] | None = None,
    path_uuids: tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` for a route that binds its request here: the parameters, the body
    and the bearer requirement (every such route has one) as FastAPI documents a signature
    with the same types.

    A model named here must also appear in the document's components (``components_of``).
    """
    operation: dict[str, Any] = {}
    parameters = [_path_uuid_parameter(name) for name in path_uuids]
    if query is not None:
        parameters.extend(_query_parameters(query))
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        ref = {"$ref": _REF.format(model=body.__name__)}
        schema = {"anyOf": [ref, {"type": "null"}], "title": "Body"}
        operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    operation["security"] = [{"HTTPBearer": []}]
    return operation


def components_of(*models: type[BaseModel]) -> dict[str, Any]:
    """The component schemas ``documented`` refers to, for the document's ``components``."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {name: _as_fastapi_writes(schema) for name, schema in schemas.items()}


def _as_fastapi_writes(schema: dict[str, Any]) -> Any:
    # FastAPI passes its document through its OpenAPI model without the None values, so an
    # optional field's `"default": null` is not in it; the same pass here keeps ours equal
    return jsonable_encoder(Schema.model_validate(schema), by_alias=True, exclude_none=True)


def _path_uuid_parameter(name: str) -> dict[str, Any]:
    title = name.replace("_", " ").title()
    schema = {"format": "uuid", "title": title, "type": "string"}
    return {"in": "path", "name": name, "required": True, "schema": schema}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    properties = model.model_json_schema(ref_template=_REF)["properties"]
    parameters = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        parameter: dict[str, Any] = {"in": "query", "name": key, "required": field.is_required()}
        if field.description:
            parameter["description"] = field.description
        # pydantic leaves the title off a bare reference (an enum); FastAPI keeps it
        parameter["schema"] = {"title": key.replace("_", " ").title(), **properties[key]}
        parameters.append(parameter)
    return parameters


def document_components(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add the schemas of ``models`` to the app's OpenAPI components (``documented`` refers
    to them by name; FastAPI collects only the models of the signatures it solves)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components_of(*models))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
