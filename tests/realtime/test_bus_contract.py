"""One contract for every ``Bus``: the in-process one and Redis pub/sub.

A hub relies on these rules whichever bus a deployment runs: what is published on a
channel reaches the handler of every node subscribed to it, in order, and nothing else
does; a handler that fails on one message loses only that message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from liveclass.realtime.bus import Bus, BusMessage, MemoryBus, RedisBus

Received = list[tuple[str, BusMessage]]
BusFactory = Callable[[], Bus]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    made: list[Bus] = []

    def make() -> Bus:
        bus: Bus
        if request.param == "memory":
            bus = MemoryBus()
        else:
            bus = RedisBus(request.getfixturevalue("redis_url"))
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


def recorder(into: Received) -> Callable[[str, BusMessage], Awaitable[None]]:
    async def handle(channel: str, message: BusMessage) -> None:
        into.append((channel, message))

    return handle


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the bus did not deliver in time")
        await asyncio.sleep(0.01)


async def test_a_message_reaches_the_subscribed_handler_unchanged(make_bus: BusFactory) -> None:
    bus, got = make_bus(), Received()
    await bus.start(recorder(got))
    await bus.subscribe("room:a")
    message = {"op": "chat", "text": "héllo ✓", "n": 3, "nested": {"list": [1, None, True]}}
    await bus.publish("room:a", message)
    await until(lambda: len(got) == 1)
    assert got == [("room:a", message)]


async def test_messages_of_a_channel_arrive_in_the_order_published(make_bus: BusFactory) -> None:
    bus, got = make_bus(), Received()
    await bus.start(recorder(got))
    await bus.subscribe("room:a")
    for n in range(200):
        await bus.publish("room:a", {"n": n})
    await until(lambda: len(got) == 200)
    assert [m["n"] for _, m in got] == list(range(200))


async def test_only_subscribed_channels_are_delivered(make_bus: BusFactory) -> None:
    bus, got = make_bus(), Received()
    await bus.start(recorder(got))
    await bus.subscribe("room:a")
    await bus.publish("room:other", {"n": 0})
    await bus.publish("room:a", {"n": 1})  # delivered after anything published before it
    await until(lambda: len(got) >= 1)
    assert got == [("room:a", {"n": 1})]


async def nobody_listens(bus: Bus, channel: str, request: pytest.FixtureRequest) -> None:
    """Wait until the deployment has no subscriber left on ``channel``.

    Redis takes an unsubscribe on the subscriber's own connection, while publishes travel
    on another: until the server has counted it out, a publish may still reach it.
    """
    if not isinstance(bus, RedisBus):
        return
    import redis.asyncio as redis

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        deadline = time.monotonic() + 5
        while dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0):
            assert time.monotonic() < deadline, f"{channel} kept a subscriber"
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_an_unsubscribed_channel_is_no_longer_delivered(
    make_bus: BusFactory, request: pytest.FixtureRequest
) -> None:
    bus, got = make_bus(), Received()
    await bus.start(recorder(got))
    await bus.subscribe("room:a")
    await bus.subscribe("room:b")
    await bus.publish("room:b", {"n": 1})
    await until(lambda: len(got) == 1)
    await bus.unsubscribe("room:b")
    await nobody_listens(bus, "room:b", request)
    await bus.publish("room:b", {"n": 2})
    await bus.publish("room:a", {"n": 3})
    await until(lambda: len(got) == 2)
    assert got == [("room:b", {"n": 1}), ("room:a", {"n": 3})]


async def test_a_failing_handler_loses_only_that_message(make_bus: BusFactory) -> None:
    bus, got = make_bus(), Received()

    async def handle(channel: str, message: BusMessage) -> None:
        if message.get("poison"):
            raise RuntimeError("this message breaks the handler")
        got.append((channel, message))

    await bus.start(handle)
    await bus.subscribe("room:a")
    await bus.publish("room:a", {"n": 1})
    await bus.publish("room:a", {"poison": True})  # the publisher is not the one to fail
    await bus.publish("room:a", {"n": 2})
    await until(lambda: len(got) == 2)
    assert [m["n"] for _, m in got] == [1, 2]


async def test_a_closed_bus_delivers_nothing_more(make_bus: BusFactory) -> None:
    bus, got = make_bus(), Received()
    await bus.start(recorder(got))
    await bus.subscribe("room:a")
    await bus.publish("room:a", {"n": 1})
    await until(lambda: len(got) == 1)
    await bus.close()
    other = make_bus()  # a live publisher of the same deployment
    await other.start(recorder([]))
    await other.subscribe("room:a")
    await other.publish("room:a", {"n": 2})
    await asyncio.sleep(0.05)
    assert got == [("room:a", {"n": 1})]


async def test_every_node_of_a_deployment_gets_what_one_publishes(redis_url: str) -> None:
    # Only Redis spans nodes; an in-process bus is a deployment of one node.
    nodes = [RedisBus(redis_url) for _ in range(3)]
    got: list[Received] = [[] for _ in nodes]
    try:
        for bus, into in zip(nodes, got, strict=True):
            await bus.start(recorder(into))
        await nodes[0].subscribe("room:x")
        await nodes[1].subscribe("room:x")
        await nodes[2].subscribe("room:y")
        await nodes[2].publish("room:x", {"from": 2})
        await until(lambda: len(got[0]) == 1 and len(got[1]) == 1)
        await nodes[0].publish("room:y", {"from": 0})
        await until(lambda: len(got[2]) == 1)
        assert got[0] == got[1] == [("room:x", {"from": 2})]
        assert got[2] == [("room:y", {"from": 0})]
    finally:
        for bus in nodes:
            await bus.close()
