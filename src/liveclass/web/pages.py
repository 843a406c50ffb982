"""HTML pages: the landing list of public classes, the create page, the classroom.

Pages are static shells; everything a user typed reaches the page as data and is shown with
``textContent`` (classroom) or through ``html.escape`` (the landing list rendered here).
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from liveclass.app_state import ServicesDep
from liveclass.config import Settings
from liveclass.db.sessions import SessionFilter, ShownSession, session_page

STATIC = Path(__file__).parent / "static"
# Pages are never embedded elsewhere and load scripts only from here.
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "connect-src 'self' ws: wss:{connect}; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP.format(connect=""),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_LISTED = 50

router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def _page(name: str, *, headers: dict[str, str] = _SECURITY_HEADERS) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=headers)


def _classroom_headers(settings: Settings) -> dict[str, str]:
    """The classroom also fetches from each Janus whose browser URL is its HTTP API."""
    origins = sorted(
        {_origin(s.browser) for s in settings.janus_servers if s.browser.startswith("http")}
    )
    csp = _CSP.format(connect="".join(f" {origin}" for origin in origins))
    return {**_SECURITY_HEADERS, "Content-Security-Policy": csp}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


@router.get("/classroom/{session_id}")
async def classroom(session_id: str, services: ServicesDep) -> FileResponse:
    # The access token travels in the URL fragment, which never reaches a server or a log.
    return _page("classroom.html", headers=_classroom_headers(services.settings))


@router.get("/create")
async def create_page() -> FileResponse:
    return _page("create.html")


@router.get("/example")
async def example_page() -> FileResponse:
    return _page("example.html")


@router.get("/")
async def landing(services: ServicesDep) -> HTMLResponse:
    async with services.db.reader() as conn:
        rows, _ = await session_page(
            conn,
            where=SessionFilter(visible_to=None, is_public=True),
            sort="scheduled_at",
            offset=0,
            limit=500,
        )
    upcoming = [r for r in rows if r.status in ("live", "scheduled")][:_LISTED]
    template = (STATIC / "landing.html").read_text()
    body = template.replace("<!--SESSIONS-->", _session_items(upcoming))
    return HTMLResponse(body, headers=_SECURITY_HEADERS)


def _session_items(rows: list[ShownSession]) -> str:
    if not rows:
        return '<li class="empty">No public classes are scheduled right now.</li>'
    return "\n".join(_session_item(r) for r in rows)


def _session_item(row: ShownSession) -> str:
    when = (
        row.scheduled_at.strftime("%Y-%m-%d %H:%M UTC")
        if isinstance(row.scheduled_at, datetime)
        else ""
    )
    return (
        f'<li class="session {html.escape(row.status)}">'
        f'<span class="title">{html.escape(row.title)}</span> '
        f'<span class="status">{html.escape(row.status)}</span> '
        f'<span class="when">{html.escape(when)}</span> '
        f'<span class="host">with {html.escape(row.owner_name)}</span> '
        f'<code class="id">{html.escape(str(row.id))}</code></li>'
    )
