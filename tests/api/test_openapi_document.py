"""``/openapi.json`` is the committed snapshot (tests/api/openapi.snapshot.json), operation by
operation: a route whose documented parameters, body or responses change, or a route added or
removed, fails here until the snapshot is regenerated on purpose::

    PYTHONPATH=src .venv/bin/python -m tests.api.test_openapi_document

The document does not depend on the database or the settings, so this runs once, on SQLite
(no lifespan: nothing is read from the database).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from tests.conftest import BASE_URL, make_settings

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


async def served_document(database_dir: Path) -> dict[str, Any]:
    """The document as a client reads it, from the app's own ``/openapi.json``."""
    app = create_app(make_settings(f"sqlite+aiosqlite:///{database_dir / 'unused.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.get("/openapi.json")
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _snapshot() -> dict[str, Any]:
    if not SNAPSHOT.exists():  # only while it is being written for the first time
        return {"paths": {}, "components": {}}
    document: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return document


SNAPSHOT_DOCUMENT = _snapshot()


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(served_document(tmp_path_factory.mktemp("openapi")))


def test_the_same_operations_are_documented(document: dict[str, Any]) -> None:
    assert sorted(_operations(document)) == sorted(_operations(SNAPSHOT_DOCUMENT))


@pytest.mark.parametrize("operation", sorted(_operations(SNAPSHOT_DOCUMENT)))
def test_operation_matches_the_snapshot(document: dict[str, Any], operation: str) -> None:
    # parameters, request body, responses, security, summary and tags, all of it
    assert _operations(document).get(operation) == _operations(SNAPSHOT_DOCUMENT)[operation]


def test_component_schemas_match_the_snapshot(document: dict[str, Any]) -> None:
    ours, snapshot = document["components"], SNAPSHOT_DOCUMENT["components"]
    assert sorted(ours["schemas"]) == sorted(snapshot["schemas"])
    for name, schema in snapshot["schemas"].items():
        assert ours["schemas"][name] == schema, name
    assert ours == snapshot


def test_the_whole_document_is_the_snapshot(document: dict[str, Any]) -> None:
    assert document == SNAPSHOT_DOCUMENT


def _write_snapshot() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        document = asyncio.run(served_document(Path(scratch)))
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    SNAPSHOT.write_text(text, encoding="utf-8")
    print(f"wrote {SNAPSHOT} ({len(_operations(document))} operations)")


if __name__ == "__main__":
    _write_snapshot()
