"""``JANUS_URLS`` items: the API URL liveclass calls, the URL browsers get, and bad items."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from liveclass.app import create_app
from liveclass.config import JanusServerUrls, Settings
from tests.conftest import BASE_URL, make_settings

CLASSROOM = "/classroom/3f0c9d1e-0000-4000-8000-000000000000"


API = "http://10.0.0.5:8088/janus"


@pytest.mark.parametrize(
    ("entry", "api", "browser"),
    [
        # the short form: browsers use Janus's HTTP transport on the very same URL
        (API, API, API),
        (f" {API}/ ", API, API),
        ("https://janus.example.org/janus", "https://janus.example.org/janus", "https://janus.example.org/janus"),
        # the long form: browsers use the URL after the bar, as given
        (f"{API}|wss://class.example.org/janus-ws", API, "wss://class.example.org/janus-ws"),
        (f"{API}/ | ws://10.0.0.5:8188", API, "ws://10.0.0.5:8188"),
        (f"{API}|https://class.example.org/janus", API, "https://class.example.org/janus"),
        (f"{API}|", API, API),
    ],
)  # fmt: skip
def test_an_item_names_the_api_url_and_the_browser_url(entry: str, api: str, browser: str) -> None:
    assert JanusServerUrls.parse(entry) == JanusServerUrls(api=api, browser=browser)


def test_settings_read_every_item_of_janus_urls() -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        janus_urls="http://10.0.0.5:8088/janus, http://10.0.0.6:8088/janus|wss://b.example.org/ws",
    )
    assert settings.janus_servers == [
        JanusServerUrls("http://10.0.0.5:8088/janus", "http://10.0.0.5:8088/janus"),
        JanusServerUrls("http://10.0.0.6:8088/janus", "wss://b.example.org/ws"),
    ]


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("ws://127.0.0.1:8188", "the HTTP API URL must start with one of http://, https://"),
        ("127.0.0.1:8088/janus", "the HTTP API URL must start with one of http://, https://"),
        ("http:///janus", "the HTTP API URL must start with one of http://, https://"),
        ("http://[::1/janus", "the HTTP API URL must start with one of http://, https://"),
        ("|ws://127.0.0.1:8188", "the HTTP API URL must start with one of http://, https://"),
        ("http://127.0.0.1:8088/janus|ftp://x", "the browser URL must start with one of ws://"),
        ("http://127.0.0.1:8088/janus|127.0.0.1:8188", "the browser URL must start with one of"),
        ("http://a:8088/janus|ws://b|ws://c", "has more than one '|'"),
    ],
)
def test_a_bad_item_is_a_settings_error_naming_janus_urls(entry: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings("sqlite+aiosqlite:///unused.db", janus_urls=f"http://ok:8088/janus,{entry}")
    [error] = refused.value.errors()
    assert error["loc"] == ("janus_urls",)
    assert f"JANUS_URLS item {entry.strip()!r}" in error["msg"]
    assert complaint in error["msg"]


async def _classroom_csp(sqlite_template: Path, tmp_path: Path, janus_urls: str) -> str:
    database = tmp_path / "liveclass.db"
    shutil.copy(sqlite_template, database)
    settings: Settings = make_settings(f"sqlite+aiosqlite:///{database}", janus_urls=janus_urls)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            page = await client.get(CLASSROOM)
    assert page.status_code == 200
    return page.headers["content-security-policy"]


async def test_the_classroom_may_fetch_from_a_janus_reached_over_http(
    sqlite_template: Path, tmp_path: Path
) -> None:
    csp = await _classroom_csp(
        sqlite_template,
        tmp_path,
        "http://127.0.0.1:8088/janus,http://10.0.0.6:8088/janus|wss://b.example.org/ws",
    )
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()
    assert connect == ["connect-src", "'self'", "ws:", "wss:", "http://127.0.0.1:8088"]


async def test_with_websocket_urls_the_classroom_fetches_only_from_itself(
    sqlite_template: Path, tmp_path: Path
) -> None:
    csp = await _classroom_csp(
        sqlite_template, tmp_path, "http://10.0.0.5:8088/janus|wss://a.example.org/ws"
    )
    assert "connect-src 'self' ws: wss:;" in csp
