"""The pages liveclass serves: the landing list, the classroom shell, static modules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Platform


async def _create(client: httpx.AsyncClient, platform: Platform, title: str, public: bool) -> str:
    response = await client.post(
        "/api/v1/sessions",
        headers=platform.auth("teacher-1", "teacher", name="Ada <i>Lovelace</i>"),
        json={
            "title": title,
            "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "duration": 45,
            "max_participants": 10,
            "is_public": public,
        },
    )
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


async def test_landing_lists_public_classes_escaped(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    public_id = await _create(client, platform, "<script>alert('x')</script> Algebra", True)
    private_id = await _create(client, platform, "Private tutoring", False)

    page = await client.get("/")

    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Algebra" in page.text
    assert "<script>alert" not in page.text
    assert "Ada &lt;i&gt;Lovelace&lt;/i&gt;" in page.text
    assert public_id in page.text and private_id not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_landing_says_so_when_nothing_is_scheduled(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert "No public classes are scheduled right now." in page.text


async def test_classroom_create_and_example_pages_are_served(client: httpx.AsyncClient) -> None:
    for path, marker in (
        ("/classroom/3f0c9d1e-0000-4000-8000-000000000000", "/static/classroom.js"),
        ("/create", "/static/create.js"),
        ("/example", "/static/example.js"),
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert marker in page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_client_modules_are_served_as_javascript(client: httpx.AsyncClient) -> None:
    ui_modules = ("classroom.js", "polls-panel.js", "teaching-tools.js")
    library = (
        "liveclass-client.js",
        "media-transport.js",
        "mesh-media.js",
        "janus-media.js",
        "janus-api.js",
        "livekit-transport.js",
    )
    for name in (*library, "create.js", *ui_modules):
        module = await client.get(f"/static/{name}")
        assert module.status_code == 200, name
        assert "javascript" in module.headers["content-type"]
    # the library stays DOM-free so platforms can build their own UI on it
    for name in library:
        source = (await client.get(f"/static/{name}")).text
        assert re.search(r"\bdocument\.\w", source) is None and "innerHTML" not in source
    for name in ui_modules:  # people's text reaches the page only as text
        ui = (await client.get(f"/static/{name}")).text
        assert "innerHTML" not in ui and "insertAdjacentHTML" not in ui, name
