"""The baseline for the fan-out benchmark: a bare broadcast server on liveclass's own stack.

uvicorn + Starlette WebSockets, nothing else: every text frame a client sends is sent to
every connected client. ``bench/realtime_fanout.py`` runs it with::

    python -m uvicorn --factory bench.realtime_bare:create_app --port N
"""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_clients: set[WebSocket] = set()


async def _broadcast(websocket: WebSocket) -> None:
    await websocket.accept()
    _clients.add(websocket)
    await websocket.send_text('{"type":"welcome"}')
    try:
        while True:
            text = await websocket.receive_text()
            for client in list(_clients):
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await client.send_text(text)
    except WebSocketDisconnect:
        pass
    finally:
        _clients.discard(websocket)


def create_app() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", _broadcast)])
