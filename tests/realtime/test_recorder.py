"""The recorder is a system connection: publishers hear of it and send it media, but it is
nobody in the class (no roster, no hands, no polls, no teaching tools)."""

from __future__ import annotations

import uuid

import websockets

from liveclass.auth.issued import TokenIssuer
from tests.realtime.conftest import Classroom, Peer
from tests.realtime.test_teaching_polls import QUIZ


async def _recorder(classroom: Classroom) -> Peer:
    secret = classroom.node.settings.secret_key
    assert secret is not None
    recorder_id = str(uuid.uuid4())
    issuer = TokenIssuer(secret.get_secret_value(), access_ttl_seconds=60)
    token = issuer.recorder_token(
        session_id=uuid.UUID(classroom.session_id),
        recorder_id=uuid.UUID(recorder_id),
        ttl_seconds=60,
    )
    ws = await websockets.connect(classroom.ws_url(token))
    peer = Peer(ws, {"participant_id": recorder_id})
    classroom.peers.append(peer)
    await peer.wait_type("welcome")
    return peer


async def test_the_recorder_is_announced_to_publishers_but_never_listed(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    recorder = await _recorder(classroom)

    welcome = recorder.of_type("welcome")[0]
    assert [p["participant_id"] for p in welcome["peers"]] == [host.pid]
    assert welcome["polls"] == [] and welcome["you"]["role"] == "viewer"
    await host.wait_type("recorder_joined", participant_id=recorder.pid)

    ada = await classroom.enter("student-1", "Ada")
    ada_welcome = ada.of_type("welcome")[0]
    assert ada_welcome["recorders"] == [recorder.pid]
    assert recorder.pid not in [p["participant_id"] for p in ada_welcome["peers"]]
    await recorder.wait_type("peer_joined")  # it hears arrivals, as any socket in the room

    await recorder.close()
    await host.wait_type("recorder_left", participant_id=recorder.pid)
    await ada.wait_type("recorder_left", participant_id=recorder.pid)
    assert not [m for m in host.received if m.get("type") == "peer_left"]


async def test_the_recorder_takes_no_part_in_teaching(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    recorder = await _recorder(classroom)

    await recorder.send({"type": "reaction", "emoji": "👍"})
    refused = await recorder.wait_type("error")
    assert (refused["code"], refused["detail"]) == (
        "FORBIDDEN",
        "A recorder may not send reactions.",
    )
    recorder.received.clear()
    await recorder.send({"type": "hand", "raised": True})
    refused = await recorder.wait_type("error")
    assert (refused["code"], refused["detail"]) == (
        "FORBIDDEN",
        "The recorder has no hand to raise.",
    )

    # a poll for everyone reaches the host, never the recorder
    await host.send(QUIZ | {"open": True})
    await host.wait_for(lambda m: m.get("type") == "poll" and m["poll"]["status"] == "open")
    await host.send({"type": "ping", "nonce": "after-the-poll"})
    await host.wait_type("pong", nonce="after-the-poll")
    recorder.received.clear()
    await recorder.send({"type": "ping", "nonce": "mine"})
    await recorder.wait_type("pong", nonce="mine")
    assert not recorder.of_type("poll")
