"""Shared fixtures: settings, a migrated database (SQLite and real PostgreSQL), the app, tokens."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from liveclass.app import create_app
from liveclass.auth.platform import mint_platform_token
from liveclass.config import Settings
from liveclass.db.migrate import upgrade
from liveclass.db.tables import metadata
from tests.support.servers import postgres_server, redis_server
from tests.support.webhooks import Receiver, webhook_receiver

JWT_SECRET = "test-platform-secret-0123456789-abcdef"
SECRET_KEY = "test-liveclass-secret-0123456789-abcdef"
BASE_URL = "http://testserver"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    import os

    given = os.environ.get("LIVECLASS_TEST_POSTGRES_URL")
    if given:
        upgrade(given)
        yield given
        return
    with postgres_server() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import os

    given = os.environ.get("LIVECLASS_TEST_REDIS_URL")
    if given:
        yield given
        return
    with redis_server() as url:
        yield url


async def _truncate(url: str) -> None:
    engine = create_async_engine(url)
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A freshly migrated, empty database; every test using it runs on both engines."""
    if request.param == "sqlite":
        path = tmp_path / "liveclass.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "secret_key": SECRET_KEY,
        "public_base_url": BASE_URL,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@dataclass(frozen=True)
class Platform:
    """Mints the platform's JWTs the way a learning platform would."""

    secret: str = JWT_SECRET

    def token(self, sub: str, *roles: str, name: str | None = None, ttl: int = 3600) -> str:
        return mint_platform_token(
            self.secret, sub=sub, name=name or sub.title(), roles=list(roles), ttl_seconds=ttl
        )

    def auth(self, sub: str, *roles: str, name: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, *roles, name=name)}"}


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The platform's webhook endpoint: a real HTTP server on loopback."""
    with webhook_receiver() as state:
        yield state
