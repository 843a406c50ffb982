"""The MediaBackend contract, run against every backend (mesh, Janus for real, and LiveKit
against a server implementing its documented Twirp API)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from liveclass.domain.roles import Role
from liveclass.media.backend import (
    MediaBackend,
    MediaParticipant,
    MediaRoom,
    MuteKind,
    RoomSpec,
)


def a_spec() -> RoomSpec:
    return RoomSpec(
        session_id=uuid.uuid4(), title="Algebra II", max_participants=100, max_publishers=4
    )


def a_participant(role: Role) -> MediaParticipant:
    return MediaParticipant(
        participant_id=uuid.uuid4(), user_id=f"user-{role}", name=f"A {role}", role=role
    )


async def test_open_room_names_the_backend(backend: MediaBackend) -> None:
    room = await backend.open_room(a_spec())
    assert isinstance(room, MediaRoom)
    assert room.backend == backend.name
    await backend.close_room(room)


async def test_open_room_is_idempotent_for_a_session(backend: MediaBackend) -> None:
    spec = a_spec()
    first = await backend.open_room(spec)
    again = await backend.open_room(spec)
    assert again == first
    await backend.close_room(first)


@pytest.mark.parametrize("role", list(Role))
async def test_grant_names_the_provider_for_every_role(backend: MediaBackend, role: Role) -> None:
    room = await backend.open_room(a_spec())
    grant = await backend.grant(room, a_participant(role))
    assert grant["provider"] == backend.name
    await backend.close_room(room)


async def test_role_changes_and_removal_are_accepted(backend: MediaBackend) -> None:
    room = await backend.open_room(a_spec())
    student = a_participant(Role.VIEWER)
    await backend.grant(room, student)
    for role in (Role.SPEAKER, Role.VIEWER, Role.CO_HOST):
        await backend.apply_role(room, replace(student, role=role))
    await backend.remove_participant(room, student)
    await backend.remove_participant(room, student)  # kicking twice is harmless
    await backend.close_room(room)


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_a_mute_request_is_accepted_connected_or_not(
    backend: MediaBackend, kind: MuteKind
) -> None:
    room = await backend.open_room(a_spec())
    student = a_participant(Role.SPEAKER)
    await backend.grant(room, student)
    await backend.mute(room, student, kind)  # granted, never connected: nothing to mute
    await backend.close_room(room)


def test_a_backend_says_whether_it_stores_recordings_itself(backend: MediaBackend) -> None:
    assert isinstance(backend.stores_recordings, bool)


async def test_close_room_is_idempotent(backend: MediaBackend) -> None:
    room = await backend.open_room(a_spec())
    await backend.close_room(room)
    await backend.close_room(room)


async def test_recording_can_be_started_and_stopped(backend: MediaBackend, tmp_path: Path) -> None:
    room = await backend.open_room(a_spec())
    records_itself = await backend.start_recording(room, tmp_path, key="rec-1/class.mp4")
    assert isinstance(records_itself, bool)  # False: the recorder must join as a peer
    await backend.stop_recording(room)
    await backend.stop_recording(room)  # idempotent
    await backend.close_room(room)
    await backend.stop_recording(room)  # harmless once the room is gone
