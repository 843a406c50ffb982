"""After the class: poll results over the API, and the ``poll.closed`` webhook delivered from
the outbox to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest

from liveclass.config import Settings
from liveclass.notify.webhooks import verify
from tests.conftest import make_settings
from tests.realtime.conftest import Classroom
from tests.support.servers import free_port
from tests.support.webhooks import Receiver

SECRET = "webhook-secret-for-tests-0123456789"


@pytest.fixture
def node_settings(database_url: str, receiver: Receiver) -> Settings:
    port = free_port()
    return make_settings(
        database_url,
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
    )


async def _closed_event(receiver: Receiver) -> dict[str, object]:
    for _ in range(250):
        for headers, body in receiver.received:
            event = json.loads(body)
            if event["type"] == "poll.closed":
                assert verify(
                    SECRET,
                    event_id=headers["Webhook-Id"],
                    timestamp=int(headers["Webhook-Timestamp"]),
                    body=body,
                    signature=headers["Webhook-Signature"],
                )
                data: dict[str, object] = event["data"]
                return data
        await asyncio.sleep(0.02)
    raise AssertionError("no poll.closed webhook arrived")


async def test_poll_results_after_the_class_and_the_closed_webhook(
    classroom: Classroom, receiver: Receiver
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    ada = await classroom.enter("student-1", "Ada")
    await host.send(
        {
            "type": "poll_create",
            "question": "Capital of France?",
            "options": ["Lyon", "Paris"],
            "quiz": True,
            "correct": [1],
            "open": True,
        }
    )
    poll_id = (await ada.wait_type("poll"))["poll"]["id"]
    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["1"]})
    await host.wait_for(
        lambda m: m.get("type") == "poll" and m["poll"]["results"]["total_voters"] == 1
    )
    await host.send({"type": "poll_close", "poll_id": poll_id})
    await ada.wait_for(lambda m: m.get("type") == "poll" and m["poll"]["status"] == "closed")
    await classroom.end()

    data = await _closed_event(receiver)
    assert data == {
        "session_id": classroom.session_id,
        "poll_id": poll_id,
        "question": "Capital of France?",
        "counts": {"0": 0, "1": 1},
        "total_voters": 1,
        "quiz": True,
        "correct": ["1"],
    }

    url = f"/api/v1/sessions/{classroom.session_id}/polls/{poll_id}"
    host_view = (await classroom.api.get(url, headers=classroom._auth())).json()
    assert host_view["results"] == {"total_voters": 1, "counts": {"0": 0, "1": 1}}
    (answer,) = host_view["answers"]
    assert (answer["participant_id"], answer["name"], answer["correct"]) == (ada.pid, "Ada", True)
    student = classroom._auth(classroom.platform.token("student-1", "student"))
    (theirs,) = (await classroom.api.get(url[: url.rindex("/")], headers=student)).json()
    # results were never published: the student sees the poll, not its results
    assert (theirs["results"], theirs["correct"], theirs["answers"]) == (None, None, None)


async def test_ending_the_class_closes_its_open_polls(
    classroom: Classroom, receiver: Receiver
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    ada = await classroom.enter("student-1", "Ada")
    await host.send(
        {"type": "poll_create", "question": "Ready?", "options": ["Yes", "No"], "open": True}
    )
    poll_id = (await ada.wait_type("poll"))["poll"]["id"]
    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["0"]})
    await host.wait_for(
        lambda m: m.get("type") == "poll" and m["poll"]["results"]["total_voters"] == 1
    )
    await host.send({"type": "poll_create", "question": "Never opened", "options": ["a", "b"]})
    await host.wait_for(lambda m: m.get("type") == "poll" and m["poll"]["status"] == "draft")
    await classroom.end()  # nobody closed the poll: the end of the class does

    data = await _closed_event(receiver)
    assert (data["poll_id"], data["counts"], data["total_voters"]) == (poll_id, {"0": 1, "1": 0}, 1)
    listed = await classroom.api.get(
        f"/api/v1/sessions/{classroom.session_id}/polls", headers=classroom._auth()
    )
    statuses = {p["question"]: p["status"] for p in listed.json()}
    # a draft was never asked: it stays a draft (there is nothing to report of it)
    assert statuses == {"Ready?": "closed", "Never opened": "draft"}
