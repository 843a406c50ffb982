"""The classroom socket's use cases (``realtime.use_cases.ClassroomUseCases``), filled from
control's own: the hub runs the same rules as the REST API without importing control."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from liveclass.auth.issued import AccessClaims
from liveclass.control import participants, polls, sessions
from liveclass.db.seats import ParticipantRecord
from liveclass.db.sessions import SessionRecord
from liveclass.domain.actors import Actor
from liveclass.domain.poll_views import Viewer
from liveclass.domain.polls import PollDraft
from liveclass.domain.roles import Role
from liveclass.media.backend import MuteKind
from liveclass.services import Services


class ClassroomControl:
    """``ClassroomUseCases`` over one node's services."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def check_access(
        self, session: SessionRecord, participant: ParticipantRecord | None, claims: AccessClaims
    ) -> None:
        participants.check_access(session, participant, claims)

    async def kick(self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        await participants.kick(self._services, actor, session_id, participant_id)

    async def mute(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, kind: MuteKind
    ) -> None:
        await participants.mute(self._services, actor, session_id, participant_id, kind)

    async def change_role(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        await participants.change_role(self._services, actor, session_id, participant_id, role)

    async def admit(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, *, admit: bool
    ) -> None:
        await participants.admit(self._services, actor, session_id, participant_id, admit=admit)

    async def start_session(self, actor: Actor, session_id: uuid.UUID) -> None:
        await sessions.start_session(self._services, actor, session_id)

    async def end_session(self, actor: Actor, session_id: uuid.UUID) -> None:
        await sessions.end_session(self._services, actor, session_id)

    async def leave(self, actor: Actor, session_id: uuid.UUID) -> None:
        await participants.leave(self._services, actor, session_id)

    async def create_poll(
        self, session_id: uuid.UUID, draft: PollDraft, *, created_by: str, open_now: bool
    ) -> None:
        await polls.create(
            self._services, session_id, draft, created_by=created_by, open_now=open_now
        )

    async def open_poll(self, session_id: uuid.UUID, poll_id: uuid.UUID) -> None:
        await polls.open_poll(self._services, session_id, poll_id)

    async def close_poll(self, session_id: uuid.UUID, poll_id: uuid.UUID) -> None:
        await polls.close_poll(self._services, session_id, poll_id)

    async def publish_poll(
        self, session_id: uuid.UUID, poll_id: uuid.UUID, *, visible: bool
    ) -> None:
        await polls.publish(self._services, session_id, poll_id, visible=visible)

    async def answer_poll(
        self,
        session_id: uuid.UUID,
        poll_id: uuid.UUID,
        *,
        participant_id: uuid.UUID,
        chosen: Sequence[str],
    ) -> None:
        await polls.answer(
            self._services, session_id, poll_id, participant_id=participant_id, chosen=chosen
        )

    async def welcome_polls(self, session_id: uuid.UUID, viewer: Viewer) -> list[dict[str, Any]]:
        return await polls.welcome_polls(self._services, session_id, viewer)
