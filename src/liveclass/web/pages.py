"""HTML pages: the landing list of public classes, the create page, the classroom.

Pages are static shells; everything a user typed reaches the page as data and is shown with
``textContent`` (classroom) or through ``html.escape`` (the landing list rendered here).
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from liveclass.app_state import ServicesDep
from liveclass.config import Settings
from liveclass.db.sessions import SessionFilter, ShownSession, get_session, session_page
from liveclass.domain.errors import NotFound
from liveclass.services import Services

STATIC = Path(__file__).parent / "static"
# scripts/install copies livekit-client's ESM build here from npm (git ignores it)
VENDOR = Path(__file__).parent / "vendor"
LIVEKIT_CLIENT = VENDOR / "livekit-client.esm.mjs"
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


def _classroom_headers(settings: Settings, provider: str | None) -> dict[str, str]:
    """The classroom also fetches from each Janus whose browser URL is its HTTP API, and a
    LiveKit classroom from LiveKit (livekit-client asks its HTTP side why a join failed)."""
    origins = {_origin(s.browser) for s in settings.janus_servers if s.browser.startswith("http")}
    if provider == "livekit" and settings.livekit_url:
        origins |= _both_schemes(_origin(settings.livekit_url))
    csp = _CSP.format(connect="".join(f" {origin}" for origin in sorted(origins)))
    return {**_SECURITY_HEADERS, "Content-Security-Policy": csp}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _both_schemes(origin: str) -> set[str]:
    """LiveKit's URL in its WebSocket and its HTTP form (livekit-client uses both)."""
    scheme, rest = origin.split("://", 1)
    secure = scheme in ("https", "wss")
    return {f"{'wss' if secure else 'ws'}://{rest}", f"{'https' if secure else 'http'}://{rest}"}


async def _provider(services: Services, session_id: str) -> str | None:
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        return None  # the page itself says the class does not exist
    async with services.db.reader() as conn:
        record = await get_session(conn, session_id=sid)
    return None if record is None else record.provider


def livekit_client_file(settings: Settings) -> Path:
    """livekit-client's ESM build: LIVEKIT_CLIENT_JS, else the copy in the package."""
    return Path(settings.livekit_client_js) if settings.livekit_client_js else LIVEKIT_CLIENT


@router.get("/classroom/{session_id}")
async def classroom(session_id: str, services: ServicesDep) -> FileResponse:
    # The access token travels in the URL fragment, which never reaches a server or a log.
    provider = await _provider(services, session_id)
    return _page("classroom.html", headers=_classroom_headers(services.settings, provider))


@router.get("/vendor/livekit-client.js")
async def livekit_client(services: ServicesDep) -> FileResponse:
    """livekit-client for LiveKit classrooms, served by liveclass itself (no CDN)."""
    path = livekit_client_file(services.settings)
    if not path.is_file():
        raise NotFound(
            f"This server has no livekit-client ({path}): install it with scripts/install "
            "(needs npm), or set LIVEKIT_CLIENT_JS to livekit-client's "
            "dist/livekit-client.esm.mjs.",
            code="LIVEKIT_CLIENT_MISSING",
        )
    return FileResponse(path, media_type="text/javascript", headers=_SECURITY_HEADERS)


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
