"""JanusBackend against a real Janus: what the server itself enforces, placement across
servers, restarts, and failures."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from liveclass.config import Settings
from liveclass.domain.errors import Unavailable
from liveclass.domain.roles import Role
from liveclass.media.backend import MediaParticipant, MediaRoom, RoomSpec
from liveclass.media.janus import JanusBackend
from liveclass.media.janus_api import VideoRoomError
from liveclass.services import build_services
from tests.media.conftest import janus_backend_for
from tests.media.janus_peer import JanusSession, Publisher
from tests.media.janus_server import JanusServer
from tests.support.servers import free_port

pytestmark = pytest.mark.janus


def a_spec(max_publishers: int = 3) -> RoomSpec:
    return RoomSpec(
        session_id=uuid.uuid4(), title="Biology", max_participants=50, max_publishers=max_publishers
    )


def someone(role: Role) -> MediaParticipant:
    return MediaParticipant(uuid.uuid4(), f"u-{uuid.uuid4().hex[:6]}", f"A {role}", role)


@pytest.fixture
async def janus(janus_server: JanusServer) -> AsyncIterator[JanusBackend]:
    backend = janus_backend_for(janus_server)
    yield backend
    await backend.aclose()


@pytest.fixture
async def inspector(janus_server: JanusServer) -> AsyncIterator[tuple[JanusSession, str]]:
    """A plain Janus client with no liveclass credentials, to look at rooms from outside."""
    session = JanusSession(janus_server.url, janus_server.api_secret)
    await session.open()
    handle = await session.attach()
    yield session, handle
    await session.close()


async def ask(inspector: tuple[JanusSession, str], body: dict[str, Any]) -> dict[str, Any]:
    session, handle = inspector
    data, _ = await session.message(handle, body)
    return data


async def test_room_is_created_private_with_the_sessions_publisher_slots(
    janus: JanusBackend, janus_server: JanusServer, inspector: tuple[JanusSession, str]
) -> None:
    room = await janus.open_room(a_spec(max_publishers=3))
    assert room.server == janus_server.url
    public = await ask(inspector, {"request": "list"})
    assert all(r["room"] != room.data["room"] for r in public["list"])
    listed = await ask(inspector, {"request": "list", "admin_key": janus_server.admin_secret})
    (mine,) = [r for r in listed["list"] if r["room"] == room.data["room"]]
    assert mine["pin_required"] is True
    assert mine["max_publishers"] == 6  # a camera and a screen feed each
    await janus.close_room(room)


async def test_nobody_without_the_room_secret_can_destroy_it(
    janus: JanusBackend, inspector: tuple[JanusSession, str]
) -> None:
    room = await janus.open_room(a_spec())
    with pytest.raises(VideoRoomError) as refused:
        await ask(inspector, {"request": "destroy", "room": room.data["room"], "secret": "guess"})
    assert refused.value.code == 433
    assert (await ask(inspector, {"request": "exists", "room": room.data["room"]}))["exists"]
    await janus.close_room(room)
    assert not (await ask(inspector, {"request": "exists", "room": room.data["room"]}))["exists"]


async def test_grants_carry_a_publish_token_only_for_publishing_roles(
    janus: JanusBackend,
) -> None:
    room = await janus.open_room(a_spec())
    teacher = await janus.grant(room, someone(Role.HOST))
    viewer = await janus.grant(room, someone(Role.VIEWER))
    assert teacher["can_publish"]
    assert teacher["token"]
    assert teacher["feed_id"]
    assert not viewer["can_publish"]
    assert viewer["token"] is None
    assert teacher["room"] == viewer["room"] == room.data["room"]
    assert teacher["pin"] == viewer["pin"]
    await janus.close_room(room)


async def test_janus_refuses_a_viewer_or_a_stranger_as_publisher(janus: JanusBackend) -> None:
    room = await janus.open_room(a_spec())
    viewer = await janus.grant(room, someone(Role.VIEWER))
    for token in (None, "made-up"):
        peer = Publisher(viewer)
        with pytest.raises(VideoRoomError) as refused:
            await peer.join(token=token)
        assert refused.value.code == 433
        await peer.close()
    stranger = Publisher({**viewer, "pin": "wrong-pin"})
    with pytest.raises(VideoRoomError) as refused:
        await stranger.join()
    assert refused.value.code == 433
    await stranger.close()
    await janus.close_room(room)


async def test_open_room_finds_the_room_again_on_its_server(
    janus_server: JanusServer, second_janus_server: JanusServer
) -> None:
    backend = janus_backend_for(janus_server, second_janus_server)
    spec = a_spec()
    first = await backend.open_room(spec)
    # The same liveclass asking again (another API node, a retried start) lands on
    # the same server, whatever the loads are now.
    for _ in range(3):
        assert await backend.open_room(spec) == first
    await backend.close_room(first)
    await backend.aclose()


async def test_rooms_are_placed_on_the_least_loaded_server(
    own_pair: tuple[JanusServer, JanusServer],
) -> None:
    a, b = own_pair
    backend = janus_backend_for(a, b)
    first = await backend.open_room(a_spec())
    teacher = Publisher(await backend.grant(first, someone(Role.HOST)))
    await teacher.join()
    # load = rooms + joined participants: a has 2, b has 0, then 1, then 2 (a tie)
    later = [await backend.open_room(a_spec()) for _ in range(3)]
    assert [r.server for r in [first, *later]] == [a.url, b.url, b.url, a.url]
    await teacher.close()
    for room in [first, *later]:
        await backend.close_room(room)
    await backend.aclose()


async def test_grant_recreates_a_room_lost_in_a_janus_restart(own_janus: JanusServer) -> None:
    backend = janus_backend_for(own_janus)
    room = await backend.open_room(a_spec())
    own_janus.restart()
    grant = await backend.grant(room, someone(Role.HOST))
    teacher = Publisher(grant)
    await teacher.join()  # the same credentials work on the re-created room
    await teacher.close()
    await backend.close_room(room)
    await backend.aclose()


async def test_unreachable_janus_is_media_unavailable_and_a_retry_works(
    own_janus: JanusServer,
) -> None:
    backend = janus_backend_for(own_janus)
    spec = a_spec()
    own_janus.stop()
    with pytest.raises(Unavailable) as down:
        await backend.open_room(spec)
    assert down.value.code == "MEDIA_UNAVAILABLE"
    assert down.value.status == 503
    own_janus.restart()
    room = await backend.open_room(spec)
    assert room.server == own_janus.url
    await backend.close_room(room)
    await backend.aclose()


async def test_every_operation_on_a_dead_server_is_media_unavailable() -> None:
    dead = f"http://127.0.0.1:{free_port()}/janus"
    backend = JanusBackend([dead], credentials_key=b"k" * 32)
    room = MediaRoom("janus", dead, {"session_id": str(uuid.uuid4()), "room": 7})
    who = someone(Role.SPEAKER)
    for call in (
        backend.grant(room, who),
        backend.apply_role(room, who),
        backend.remove_participant(room, who),
        backend.close_room(room),
    ):
        with pytest.raises(Unavailable) as down:
            await call
        assert down.value.code == "MEDIA_UNAVAILABLE"
        assert isinstance(down.value.__cause__, httpx.TransportError)
    await backend.aclose()


async def test_a_wrong_api_secret_is_media_unavailable(janus_server: JanusServer) -> None:
    backend = JanusBackend(
        [janus_server.url], credentials_key=b"k" * 32, api_secret="not-the-secret"
    )
    with pytest.raises(Unavailable) as refused:
        await backend.open_room(a_spec())
    assert refused.value.code == "MEDIA_UNAVAILABLE"
    await backend.aclose()


@pytest.mark.parametrize("http_only", [False, True], ids=["with-ws-url", "http-only"])
async def test_services_offer_janus_when_janus_urls_are_configured(
    janus_server: JanusServer, http_only: bool
) -> None:
    entry = f"{janus_server.url}/" if http_only else f"{janus_server.url}|{janus_server.ws_url}"
    settings = Settings(
        _env_file=None,
        jwt_secret="j" * 32,
        secret_key="s" * 32,
        janus_urls=f" {entry} ",
        janus_admin_secret=janus_server.admin_secret,
        janus_api_secret=janus_server.api_secret,
    )
    services = build_services(settings)
    backend = services.backend("janus")
    assert isinstance(backend, JanusBackend)
    room = await backend.open_room(a_spec())
    assert room.server == janus_server.url
    grant = await backend.grant(room, someone(Role.VIEWER))
    # what browsers connect to: the WebSocket URL, or else the very same HTTP API URL
    assert grant["client_url"] == (janus_server.url if http_only else janus_server.ws_url)
    await backend.close_room(room)
    await backend.aclose()
    await services.db.close()
