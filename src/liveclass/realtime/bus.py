"""The bus carries room traffic between the nodes of a deployment.

Every room event goes through the bus, also on a single node, so one code path serves both:
a hub publishes to ``room:<session id>`` and every node with a socket in that room (it
subscribed) delivers to its own sockets. ``MemoryBus`` serves one process; ``RedisBus``
fans out across nodes through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

BusMessage = dict[str, Any]
Handler = Callable[[str, BusMessage], Awaitable[None]]


class Bus(Protocol):
    async def start(self, handler: Handler) -> None:
        """Begin delivering messages of subscribed channels to ``handler(channel, message)``."""
        ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    async def publish(self, channel: str, message: BusMessage) -> None: ...

    async def close(self) -> None: ...


class MemoryBus:
    """One process: publishing calls the handler directly, in order.

    A handler that fails is logged and the publisher carries on, as with Redis: what one
    node fails to deliver must not fail the sender's own request.
    """

    def __init__(self) -> None:
        self._handler: Handler | None = None
        self._channels: set[str] = set()

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: BusMessage) -> None:
        if self._handler is None or channel not in self._channels:
            return
        try:
            await self._handler(channel, message)
        except Exception:
            log.exception("bus handler failed on %s", channel)

    async def close(self) -> None:
        self._handler = None
        self._channels.clear()


class RedisBus:
    """Redis pub/sub: every node subscribes to the rooms it has sockets in."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # optional at runtime: only nodes with REDIS_URL need it

        self._client = redis.Redis.from_url(url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._handler: Handler | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._subscribed.set()

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: BusMessage) -> None:
        await self._client.publish(channel, json.dumps(message, separators=(",", ":")))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()

    async def _read(self) -> None:
        # pubsub.get_message fails until the first subscribe; wait for one.
        await self._subscribed.wait()
        while True:
            item = await self._pubsub.get_message(timeout=1.0)
            if item is None or self._handler is None:
                continue
            channel = item["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else str(channel)
            try:
                await self._handler(channel, json.loads(item["data"]))
            except Exception:  # one bad message must not stop the node's fan-out
                log.exception("bus handler failed on %s", channel)


def create_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else MemoryBus()
