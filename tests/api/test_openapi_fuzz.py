"""Fuzz every operation of ``/openapi.json``: no 5xx, and every answer matches the document.

SQLite only. The app and its migrated database are made at import: schemathesis needs the
schema to parametrize, and loading it runs the app's lifespan, which reads the database.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.openapi import from_asgi
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
)

from liveclass.app import create_app
from liveclass.db.migrate import upgrade
from tests.conftest import Platform, make_settings

_DB = Path(tempfile.mkdtemp(prefix="liveclass-fuzz-")) / "fuzz.db"
upgrade(f"sqlite+aiosqlite:///{_DB}")
schema = from_asgi("/openapi.json", create_app(make_settings(f"sqlite+aiosqlite:///{_DB}")))


@pytest.fixture(scope="module", autouse=True)
def _remove_database() -> Iterator[None]:
    yield
    shutil.rmtree(_DB.parent, ignore_errors=True)


@schema.include(path_regex="^(?!.*/ws$)").parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: Case[APIOperation[Any, Any, Any, Any]], platform: Platform) -> None:
    case.call_and_validate(
        headers=platform.auth("fuzz-teacher", "teacher"),
        # Rules no schema can state (a start time in the past, a booking owned by someone
        # else) rightly refuse some schema-valid bodies, and Starlette answers OPTIONS with
        # the Allow list of one route only; unknown query parameters (even one with an empty
        # name) are ignored as HTTP APIs conventionally do. Every other check (no 5xx,
        # documented status
        # codes, content types, headers and bodies) stays on.
        excluded_checks=[
            allow_header_conformance,
            negative_data_rejection,
            positive_data_acceptance,
        ],
    )
