"""The teaching tools across two nodes sharing a room through Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from liveclass.config import Settings
from tests.conftest import Platform, make_settings
from tests.realtime.conftest import Classroom, Node
from tests.realtime.server import serve
from tests.support.servers import free_port


def _settings(database_url: str, redis_url: str) -> Settings:
    port = free_port()
    return make_settings(
        database_url, port=port, public_base_url=f"http://127.0.0.1:{port}", redis_url=redis_url
    )


@pytest.fixture
async def rooms(database_url: str, redis_url: str) -> AsyncIterator[tuple[Classroom, Classroom]]:
    first, second = _settings(database_url, redis_url), _settings(database_url, redis_url)
    with serve(first) as url_a, serve(second) as url_b:
        async with (
            httpx.AsyncClient(base_url=url_a, timeout=10) as api_a,
            httpx.AsyncClient(base_url=url_b, timeout=10) as api_b,
        ):
            a = Classroom(Node(url_a, first), api_a, Platform())
            b = Classroom(Node(url_b, second), api_b, Platform())
            yield a, b
            await a.close_all()
            await b.close_all()


async def test_private_chat_polls_and_locks_cross_nodes(
    rooms: tuple[Classroom, Classroom],
) -> None:
    on_a, on_b = rooms
    await on_a.create()
    on_b.session_id, on_b.host_token = on_a.session_id, on_a.host_token
    host = await on_a.enter()
    await on_a.start()
    bob = await on_a.enter("student-2", "Bob")
    ada = await on_b.enter("student-1", "Ada")
    await host.wait_type("peer_joined", within=5)

    # private chat: from node b to the host on node a, and nobody else
    await ada.send({"type": "private_chat", "to": host.pid, "text": "across"})
    got = await host.wait_type("private_chat", text="across")
    assert got["from"] == ada.pid
    await ada.wait_type("private_chat", text="across")  # the echo, on her own node
    await bob.send({"type": "ping", "nonce": "sync"})
    await bob.wait_type("pong")
    assert not bob.of_type("private_chat")

    # a poll opened on node a, answered on node b, counted for the host on node a
    await host.send(
        {"type": "poll_create", "question": "Ready?", "options": ["yes", "no"], "open": True}
    )
    opened = await ada.wait_type("poll")
    poll_id = opened["poll"]["id"]
    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["0"]})
    await host.wait_for(
        lambda m: (
            m.get("type") == "poll"
            and m["poll"]["results"] == {"total_voters": 1, "counts": {"0": 1, "1": 0}}
        )
    )

    # a lock set on node a holds on node b
    await host.send({"type": "set_locks", "locks": {"student_chat": True}})
    await ada.wait_type("locks")
    ada.received.clear()
    await ada.send({"type": "chat", "text": "locked?"})
    assert (await ada.wait_type("error"))["code"] == "LOCKED"
