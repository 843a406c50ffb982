"""Two liveclass nodes share one room through Redis: presence, chat and kicks cross over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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
def two_nodes(database_url: str, redis_url: str) -> Iterator[tuple[Node, Node]]:
    first, second = _settings(database_url, redis_url), _settings(database_url, redis_url)
    with serve(first) as url_a, serve(second) as url_b:
        yield Node(url_a, first), Node(url_b, second)


@pytest.fixture
async def rooms(two_nodes: tuple[Node, Node]) -> AsyncIterator[tuple[Classroom, Classroom]]:
    node_a, node_b = two_nodes
    async with (
        httpx.AsyncClient(base_url=node_a.base_url, timeout=10) as api_a,
        httpx.AsyncClient(base_url=node_b.base_url, timeout=10) as api_b,
    ):
        a, b = Classroom(node_a, api_a, Platform()), Classroom(node_b, api_b, Platform())
        yield a, b
        await a.close_all()
        await b.close_all()


async def test_a_room_spans_two_nodes(rooms: tuple[Classroom, Classroom]) -> None:
    on_a, on_b = rooms
    await on_a.create()
    on_b.session_id, on_b.host_token = on_a.session_id, on_a.host_token
    host = await on_a.enter()
    await on_a.start()
    student = await on_b.enter("student-1", "Sam")

    # presence and the roster cross nodes
    assert [p["participant_id"] for p in student.of_type("welcome")[0]["peers"]] == [host.pid]
    # node b learnt of the host from attendance, socket included
    host_socket = host.of_type("welcome")[0]["connection_id"]
    assert student.of_type("welcome")[0]["peers"][0]["connection_id"] == host_socket
    await host.wait_type("peer_joined")
    # chat and addressed signaling cross nodes
    await student.send({"type": "chat", "text": "from node b"})
    await host.wait_type("chat", text="from node b")
    await host.send({"type": "offer", "to": student.pid, "sdp": "v=0", "streams": {}})
    await student.wait_type("offer", sender=host.pid)
    # a kick handled by node a closes the socket held by node b
    r = await on_a.api.post(
        f"/api/v1/sessions/{on_a.session_id}/participants/{student.pid}/kick",
        headers={"Authorization": f"Bearer {on_a.host_token}"},
    )
    assert r.status_code == 200, r.text
    assert (await student.wait_closed())[0] == 4403
    await host.wait_type("peer_left", participant_id=student.pid)
