"""Janus credentials are derived, so they must be stable, distinct and JavaScript-safe."""

from __future__ import annotations

import uuid

import pytest

from liveclass.media.janus_credentials import JanusCredentials

MAX_JS_INT = 2**53 - 1


def test_the_same_key_derives_the_same_credentials() -> None:
    session, person = uuid.uuid4(), uuid.uuid4()
    one, two = JanusCredentials(b"k" * 32), JanusCredentials(b"k" * 32)
    assert one.room_id(session) == two.room_id(session)
    assert one.room_secret(session) == two.room_secret(session)
    assert one.pin(session) == two.pin(session)
    assert one.publish_token(session, person) == two.publish_token(session, person)
    assert one.feed_ids(session, person) == two.feed_ids(session, person)


def test_another_key_derives_other_credentials() -> None:
    session = uuid.uuid4()
    one, other = JanusCredentials(b"k" * 32), JanusCredentials(b"j" * 32)
    assert one.room_secret(session) != other.room_secret(session)
    assert one.pin(session) != other.pin(session)


def test_ids_are_distinct_positive_and_safe_in_javascript() -> None:
    creds = JanusCredentials(b"k" * 32)
    session = uuid.uuid4()
    rooms = {creds.room_id(uuid.uuid4()) for _ in range(200)}
    feeds = [f for _ in range(200) for f in creds.feed_ids(session, uuid.uuid4())]
    assert len(rooms) == 200
    assert len(set(feeds)) == 400
    assert all(0 < n <= MAX_JS_INT for n in [*rooms, *feeds])


def test_tokens_differ_per_participant_and_session() -> None:
    creds = JanusCredentials(b"k" * 32)
    session, person = uuid.uuid4(), uuid.uuid4()
    token = creds.publish_token(session, person)
    assert token != creds.publish_token(session, uuid.uuid4())
    assert token != creds.publish_token(uuid.uuid4(), person)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        JanusCredentials(b"short")
