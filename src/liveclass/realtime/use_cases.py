"""The use cases the classroom socket runs: host controls and polls, with the same rules as
the REST API.

They live in ``liveclass.control``, above realtime; the port is named here so realtime does
not import control. The composition root (``create_app``) fills it from control
(``control.classroom.ClassroomControl``) when it builds the hub.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from liveclass.auth.issued import AccessClaims
from liveclass.db.seats import ParticipantRecord
from liveclass.db.sessions import SessionRecord
from liveclass.domain.actors import Actor
from liveclass.domain.poll_views import Viewer
from liveclass.domain.polls import PollDraft
from liveclass.domain.roles import Role
from liveclass.media.backend import MuteKind


class ClassroomUseCases(Protocol):
    """Each raises a ``DomainError`` to refuse, as over REST."""

    def check_access(
        self, session: SessionRecord, participant: ParticipantRecord | None, claims: AccessClaims
    ) -> None:
        """Is this access token still good for the session and its participant? The same
        rule as the token refresh endpoint."""
        ...

    # -- host controls ---------------------------------------------------------------------

    async def kick(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID
    ) -> None: ...

    async def mute(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, kind: MuteKind
    ) -> None:
        """Mute ``kind`` of the participant on the media server, where the backend can."""
        ...

    async def change_role(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None: ...

    async def admit(
        self, actor: Actor, session_id: uuid.UUID, participant_id: uuid.UUID, *, admit: bool
    ) -> None: ...

    async def start_session(self, actor: Actor, session_id: uuid.UUID) -> None: ...

    async def end_session(self, actor: Actor, session_id: uuid.UUID) -> None: ...

    async def leave(self, actor: Actor, session_id: uuid.UUID) -> None: ...

    # -- polls -----------------------------------------------------------------------------

    async def create_poll(
        self, session_id: uuid.UUID, draft: PollDraft, *, created_by: str, open_now: bool
    ) -> None: ...

    async def open_poll(self, session_id: uuid.UUID, poll_id: uuid.UUID) -> None: ...

    async def close_poll(self, session_id: uuid.UUID, poll_id: uuid.UUID) -> None: ...

    async def publish_poll(
        self, session_id: uuid.UUID, poll_id: uuid.UUID, *, visible: bool
    ) -> None: ...

    async def answer_poll(
        self,
        session_id: uuid.UUID,
        poll_id: uuid.UUID,
        *,
        participant_id: uuid.UUID,
        chosen: Sequence[str],
    ) -> None: ...

    async def welcome_polls(self, session_id: uuid.UUID, viewer: Viewer) -> list[dict[str, Any]]:
        """The polls a joined socket's ``welcome`` lists, as ``viewer`` may see them."""
        ...
