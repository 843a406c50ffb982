"""The classroom WebSocket: ``/api/v1/sessions/{id}/ws?access_token=...``.

The socket is accepted before the token is checked so a refusal can carry a close code
and reason the browser can read (a refused handshake only says "failed").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from liveclass.realtime import commands
from liveclass.realtime.connection import Close, Connection
from liveclass.realtime.errors import CloseError
from liveclass.realtime.hub import Hub
from liveclass.realtime.protocol import CloseCode

log = logging.getLogger(__name__)

router = APIRouter(tags=["realtime"])


@router.websocket("/sessions/{session_id}/ws")
async def classroom_socket(
    websocket: WebSocket, session_id: str, access_token: str = "", instance: str = ""
) -> None:
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    try:
        session_uuid = _session_uuid(session_id)
        conn = await hub.connect(access_token, session_uuid, instance)
    except CloseError as exc:
        await websocket.close(exc.close_code, exc.reason)
        return
    try:
        await _serve(websocket, hub, conn)
    finally:
        await hub.disconnect(conn)


def _session_uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise CloseError(CloseCode.NOT_FOUND, "SESSION_NOT_FOUND", "No such session.") from exc


async def _serve(websocket: WebSocket, hub: Hub, conn: Connection) -> None:
    reader = asyncio.create_task(_read(websocket, hub, conn))
    writer = asyncio.create_task(_write(websocket, conn))
    try:
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
    if not reader.done() or reader.cancelled() or reader.exception() is None:
        return
    exc = reader.exception()
    if isinstance(exc, CloseError):
        # The reader ended on a rule (flood, size): let the writer's close frame go out.
        await _close(websocket, exc.close_code, exc.reason)
        return
    # Anything else is our failure: say so with a close frame, not a dropped TCP connection
    # (1006), which the client cannot tell from a network failure.
    log.error("classroom socket %s failed", conn.id, exc_info=exc)
    await _close(websocket, CloseCode.INTERNAL, "INTERNAL_ERROR: the server failed; reconnect.")


async def _read(websocket: WebSocket, hub: Hub, conn: Connection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            raise CloseError(CloseCode.BAD_MESSAGE, "BAD_MESSAGE", "Only text frames are accepted.")
        await commands.handle(hub, conn, text)


async def _write(websocket: WebSocket, conn: Connection) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            for item in await conn.next_items():
                if isinstance(item, Close):
                    await _close(websocket, item.code, item.reason)
                    return
                await websocket.send_text(item)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code, reason)
