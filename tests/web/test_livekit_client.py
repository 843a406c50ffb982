"""livekit-client, served by liveclass itself to LiveKit classrooms, and the classroom's CSP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from liveclass.web.pages import LIVEKIT_CLIENT
from tests.api.helpers import create_session
from tests.conftest import BASE_URL, Platform, make_settings
from tests.support.fake_livekit import FakeLiveKitServer, serve_fake_livekit

KEY = "APIpages"
SECRET = "pages-secret-of-at-least-thirty-two-bytes"
ROOT = Path(__file__).resolve().parents[2]
NPM_BUILD = ROOT / "node_modules" / "livekit-client" / "dist" / "livekit-client.esm.mjs"


@pytest.fixture
def livekit_server() -> Iterator[FakeLiveKitServer]:
    with serve_fake_livekit(KEY, SECRET) as server:
        yield server


@asynccontextmanager
async def serving(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def test_livekit_client_is_served_from_livekit_client_js(
    database_url: str, tmp_path: Path
) -> None:
    build = tmp_path / "livekit-client.esm.mjs"
    build.write_text("export const version = 'a build of livekit-client';\n")
    async with serving(database_url, livekit_client_js=str(build)) as client:
        served = await client.get("/vendor/livekit-client.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")  # loadable as a module
    assert served.text == build.read_text()


async def test_a_server_without_livekit_client_says_so(database_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "livekit-client.esm.mjs"
    async with serving(database_url, livekit_client_js=str(missing)) as client:
        served = await client.get("/vendor/livekit-client.js")
        # mesh classes need nothing of it
        module = await client.get("/static/mesh-media.js")
    assert served.status_code == 404
    assert served.headers["content-type"] == "application/problem+json"
    problem = served.json()
    assert problem["code"] == "LIVEKIT_CLIENT_MISSING"
    assert "scripts/install" in problem["detail"] and "LIVEKIT_CLIENT_JS" in problem["detail"]
    assert module.status_code == 200


@pytest.mark.skipif(
    not NPM_BUILD.exists(), reason="livekit-client not installed: run scripts/install"
)
def test_scripts_install_put_the_locked_livekit_client_into_the_package() -> None:
    assert LIVEKIT_CLIENT.read_bytes() == NPM_BUILD.read_bytes()
    # one self-contained module: the browser resolves no bare package names
    head = LIVEKIT_CLIENT.read_text()[:200_000]
    assert re.search(r"""^\s*import\s[^;]*?from\s*['"][^./]""", head, re.M) is None


def _connect_src(response: httpx.Response) -> list[str]:
    csp = response.headers["content-security-policy"]
    directive = next(d.strip() for d in csp.split(";") if d.strip().startswith("connect-src"))
    return directive.split()[1:]


async def test_a_livekit_classroom_may_connect_to_livekit_url_only(
    database_url: str, livekit_server: FakeLiveKitServer, platform: Platform
) -> None:
    livekit_url = livekit_server.url.replace("http://", "ws://")
    origin = livekit_url.removeprefix("ws://")
    async with serving(
        database_url, livekit_url=livekit_url, livekit_api_key=KEY, livekit_api_secret=SECRET
    ) as client:
        livekit = await create_session(client, platform, provider="livekit")
        mesh = await create_session(client, platform, provider="mesh")
        on_livekit = await client.get(f"/classroom/{livekit['id']}")
        on_mesh = await client.get(f"/classroom/{mesh['id']}")
        unknown = await client.get("/classroom/not-a-session")
    # livekit-client opens its signal WebSocket there and asks the HTTP side why a join failed
    assert {f"ws://{origin}", f"http://{origin}"} <= set(_connect_src(on_livekit))
    for page in (on_mesh, unknown):
        assert page.status_code == 200
        assert _connect_src(page) == ["'self'", "ws:", "wss:"]
