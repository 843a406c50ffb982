"""ASGI middleware refusing request bodies over ``MAX_BODY_BYTES`` before they are read."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def counting_receive() -> Message:
            # Chunked bodies declare no length: count as they arrive. The exception is
            # raised inside the route, where the problem handlers turn it into a 413.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(
                        413, f"Request bodies are limited to {self.max_bytes} bytes."
                    )
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = json.dumps(
            {
                "type": "https://liveclass.dev/problems/payload-too-large",
                "title": "Payload too large",
                "status": 413,
                "detail": f"Request bodies are limited to {self.max_bytes} bytes.",
                "code": "PAYLOAD_TOO_LARGE",
                "instance": scope.get("path"),
                "errors": [],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
