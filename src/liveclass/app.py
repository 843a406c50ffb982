"""``create_app(settings)``: the ASGI application of one liveclass node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from liveclass import __version__
from liveclass.api import participants, polls, providers, recordings, rtc, sessions, ws
from liveclass.api.lean import document_components
from liveclass.api.limits import BodySizeLimit
from liveclass.api.problems import install_problem_handlers
from liveclass.api.schemas import JoinBody
from liveclass.config import Settings
from liveclass.control.classroom import ClassroomControl
from liveclass.control.expiry import (
    download_recordings_forever,
    expire_forever,
    purge_recordings_forever,
    read_attendance_forever,
    watch_nodes_forever,
)
from liveclass.domain.errors import Unavailable
from liveclass.notify.webhooks import WebhookSender
from liveclass.providers.hosted import ReadsAttendance
from liveclass.realtime.bus import create_bus
from liveclass.realtime.hub import Hub, default_node_id
from liveclass.recording import capture
from liveclass.services import Services, build_services
from liveclass.web import pages


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()
    services = services or build_services(settings)
    hub = Hub(
        services,
        create_bus(settings.redis_url),
        node_id=default_node_id(settings.port),
        use_cases=ClassroomControl(services),
    )
    services.room_events.plug(hub)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        workers = _background_workers(services, hub)
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await capture.shutdown(services.recorder)
            await hub.stop()
            await services.close()

    app = FastAPI(
        title="liveclass",
        version=__version__,
        summary="Live classes for learning platforms: schedule, join, teach, record.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    install_problem_handlers(app)
    # the join binds its body itself (api/lean.py); its schema is named in the document
    document_components(app, JoinBody)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    app.include_router(sessions.router, prefix="/api/v1")
    app.include_router(participants.router, prefix="/api/v1")
    app.include_router(ws.router, prefix="/api/v1")
    app.include_router(rtc.router, prefix="/api/v1")
    app.include_router(recordings.router, prefix="/api/v1")
    app.include_router(polls.router, prefix="/api/v1")
    app.include_router(providers.router, prefix="/api/v1")
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")

    @app.get("/healthz", tags=["health"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database answers",
        responses={503: {"description": "The database is unreachable"}},
    )
    async def readyz() -> JSONResponse:
        try:
            await services.db.ping()
        except Exception as exc:  # any driver error means "not ready"
            raise Unavailable("The database is unreachable.", code="DB_UNAVAILABLE") from exc
        return JSONResponse({"status": "ready"})

    return app


def _background_workers(services: Services, hub: Hub) -> list[asyncio.Task[None]]:
    """The heartbeat, expiry of empty overdue sessions, recording retention, and webhooks."""
    tasks = [
        asyncio.create_task(watch_nodes_forever(services, hub), name="liveclass-heartbeat"),
        asyncio.create_task(expire_forever(services), name="liveclass-expiry"),
        asyncio.create_task(purge_recordings_forever(services), name="liveclass-retention"),
    ]
    if services.hosted:
        tasks.append(
            asyncio.create_task(download_recordings_forever(services), name="liveclass-downloads")
        )
    if any(isinstance(p, ReadsAttendance) for p in services.hosted.values()):
        tasks.append(
            asyncio.create_task(read_attendance_forever(services), name="liveclass-attendance")
        )
    if services.settings.webhook_url:
        sender = WebhookSender.from_settings(services.db, services.settings)
        tasks.append(asyncio.create_task(sender.run_forever(), name="liveclass-webhooks"))
    return tasks
