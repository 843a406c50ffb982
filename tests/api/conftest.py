"""Fixtures of the API tests: a liveclass app whose LiveKit is the fake LiveKit server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from liveclass.app import create_app
from liveclass.config import Settings
from tests.api.livekit_support import KEY, SECRET
from tests.conftest import BASE_URL, make_settings
from tests.support.fake_livekit import FakeLiveKitServer, serve_fake_livekit


@pytest.fixture
def livekit_server() -> Iterator[FakeLiveKitServer]:
    with serve_fake_livekit(KEY, SECRET) as server:
        yield server


@pytest.fixture
def lk_settings(database_url: str, livekit_server: FakeLiveKitServer, tmp_path: Path) -> Settings:
    # LIVEKIT_URL only: the server API URL is derived from it (ws -> http)
    return make_settings(
        database_url,
        livekit_url=livekit_server.url.replace("http://", "ws://"),
        livekit_api_key=KEY,
        livekit_api_secret=SECRET,
        recordings_dir=str(tmp_path / "recordings"),
        recording_work_dir=str(tmp_path / "work"),
    )


@pytest.fixture
async def lk_app(lk_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(lk_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def lk(lk_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=lk_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c
