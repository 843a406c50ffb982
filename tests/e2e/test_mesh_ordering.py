"""The mesh transport under the message orders a busy server produces, in real Chromium.

Two clients live in one page and signal each other through a relay in the page, so a test
chooses exactly which presence message each one sees and when. A CI run once failed when
a student's welcome listed a teacher who was connecting at the same moment, and the
teacher's ``peer_joined`` arrived right after it: the student rebuilt its link and waited
for an offer, while the teacher waited for the student's.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import ServerProcess, open_page

pytestmark = pytest.mark.e2e

A, B = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
R = "00000000-0000-4000-8000-00000000000c"  # receives only, like the hidden recorder

# LiveClassClient + mesh transport pairs with fake cameras. A `send` reaches the addressee's
# `receive`, shaped as the server relays signals (`to` becomes `from`). Presence messages
# are fed by the test through window.feed().
_SETUP_JS = """
async (pids) => {
  const { LiveClassClient } = await import('/static/liveclass-client.js');
  const { createMedia } = await import('/static/mesh-media.js');
  const people = {};
  for (const pid of pids) {
    const baseUrl = location.origin;
    const client = new LiveClassClient({ sessionId: 's', accessToken: 't', baseUrl });
    // as the classroom does: the transport is made by its factory and handed to the client
    const media = createMedia(client, { media: { provider: 'mesh' } }, {});
    client.useMedia(media);
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    people[pid] = { client, media, stream };
    client.send = (message) => {
      if (!['offer', 'answer', 'candidate'].includes(message.type)) return;
      const relayed = JSON.stringify({ ...message, to: undefined, from: pid });
      setTimeout(() => people[message.to].client.receive(relayed), 0);
    };
  }
  window.people = people;
  window.linkSerial = 0;
  // Stamps a person's link to the other, to tell a kept link from a rebuilt one.
  window.stamp = (pid) => {
    const [link] = [...people[pid].media.links.values()];
    if (!link) return 0;
    if (!link.pc.serial) link.pc.serial = ++window.linkSerial;
    return link.pc.serial;
  };
  // Feeds presence messages in order, all before any signal they cause can be relayed
  // (relays wait for a timer), as the server orders presence ahead of signals.
  window.feed = (steps) => {
    const serials = [];
    for (const [pid, message] of steps) {
      if (message === 'stamp') { serials.push(window.stamp(pid)); continue; }
      people[pid].client.receive(JSON.stringify(message));
      // The classroom publishes its camera once it is in the room.
      const { media, stream } = people[pid];
      if (message.type === 'welcome' && message.you.permissions.can_publish) {
        media.publish(stream, 'camera');
      }
    }
    return serials;
  };
}
"""

# Per person: the state of their link to the other, its decoded video frames and its stamp.
_LINK_JS = """
async (pid) => {
  const [link] = [...window.people[pid].media.links.values()];
  if (!link) return null;
  let frames = 0;
  (await link.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
  });
  return { state: link.pc.connectionState, frames, serial: window.stamp(pid) };
}
"""


def _welcome(
    me: str,
    peers: list[dict[str, Any]],
    *,
    recorders: tuple[str, ...] = (),
    publisher: bool = True,
) -> dict[str, Any]:
    permissions = {
        "can_publish": publisher,
        "can_subscribe": True,
        "can_publish_data": True,
        "can_share_screen": True,
        "room_admin": False,
        "can_record": False,
    }
    return {
        "type": "welcome",
        "connection_id": f"node/{me}",
        "session": {"id": "s", "title": "t", "status": "live"},
        "you": {
            "participant_id": me,
            "user_id": me,
            "name": me,
            "role": "speaker" if publisher else "viewer",
            "status": "joined",
            "permissions": permissions,
        },
        "peers": peers,
        "waiting": [],
        "recorders": list(recorders),
        "recording": False,
    }


def _peer(pid: str, connection: str) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "name": pid,
        "role": "speaker",
        "instance": pid[-4:],
        "connection_id": connection,
        "hand": False,
        "audio": True,
        "video": True,
        "screen": False,
    }


async def _links_decode(
    page: Page, decoding: tuple[str, ...] = (A, B), connected: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Wait (bounded) until these people's links are connected and, for ``decoding``, have
    decoded video from the other end."""
    links: dict[str, dict[str, Any]] = {}
    for _ in range(80):
        links = {pid: await page.evaluate(_LINK_JS, pid) for pid in decoding + connected}
        if all(
            link and link["state"] == "connected" and (pid in connected or link["frames"] > 0)
            for pid, link in links.items()
        ):
            return links
        await page.wait_for_timeout(250)
    raise AssertionError(f"the links did not all connect and decode: {links}")


@pytest.fixture
async def page(browser: Browser, server: ServerProcess) -> Page:
    page = await open_page(browser, server.base_url + "/")
    await page.evaluate(_SETUP_JS, [A, B, R])
    return page


async def _feed(page: Page, *steps: tuple[str, Any]) -> list[int]:
    serials: list[int] = await page.evaluate("(steps) => window.feed(steps)", list(steps))
    return serials


async def test_a_peer_joined_repeating_the_welcome_keeps_the_link(page: Page) -> None:
    # A enters an empty room. B connects meanwhile: A's peer_joined is queued for B's socket
    # behind B's welcome, which already lists A; then A hears of B.
    await _feed(page, (A, _welcome(A, [])))
    [offered_on] = await _feed(
        page,
        (B, _welcome(B, [_peer(A, "c-a1")])),
        (B, "stamp"),
        (B, {"type": "peer_joined", "peer": _peer(A, "c-a1")}),
        (A, {"type": "peer_joined", "peer": _peer(B, "c-b1")}),
    )
    links = await _links_decode(page)
    assert links[B]["serial"] == offered_on  # B kept the link it offered on

    # A new socket of A (a reconnect) is news: both ends start over and connect again.
    await _feed(
        page,
        (A, _welcome(A, [_peer(B, "c-b1")])),
        (B, {"type": "peer_joined", "peer": _peer(A, "c-a2")}),
    )
    again = await _links_decode(page)
    assert again[B]["serial"] != links[B]["serial"]
    assert again[A]["serial"] != links[A]["serial"]


async def test_a_recorder_joined_repeating_the_welcome_keeps_the_link(page: Page) -> None:
    # The recorder came while A connected: A's welcome lists it, its recorder_joined follows.
    await _feed(page, (R, _welcome(R, [], publisher=False)))
    [offered_on] = await _feed(
        page,
        (A, _welcome(A, [], recorders=(R,))),
        (A, "stamp"),
        (A, {"type": "recorder_joined", "participant_id": R}),
    )
    links = await _links_decode(page, decoding=(R,), connected=(A,))
    assert links[A]["serial"] == offered_on
