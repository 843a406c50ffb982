"""Room events: the ``RoomEvents`` the REST API calls after it committed a change (a kick, an
end, a role, a poll), published on the bus, and what each node does when one arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from liveclass.db import classroom
from liveclass.db.seats import get_participant
from liveclass.domain.poll_views import Rendering
from liveclass.domain.roles import Action, Permissions, Role
from liveclass.realtime.connection import Connection
from liveclass.realtime.fanout import Fanout
from liveclass.realtime.node_messages import (
    Admit,
    End,
    PollChanged,
    Remove,
    RoleChange,
)
from liveclass.realtime.protocol import CloseCode, encode
from liveclass.realtime.room import Room

if TYPE_CHECKING:
    from liveclass.services import Services


class BusRoomEvents:
    """``RoomEvents`` over the bus, so every node acts on its own sockets."""

    def __init__(self, services: Services, fanout: Fanout) -> None:
        self.services = services
        self.fanout = fanout
        secret = services.settings.secret_key
        assert secret is not None  # Settings refuses to load without it
        self._secret = secret.get_secret_value()

    # -- published (called by control after a commit) ------------------------------------

    async def session_started(self, session_id: uuid.UUID) -> None:
        await self.fanout.deliver(session_id, {"type": "session_started"})

    async def session_ended(self, session_id: uuid.UUID, reason: str) -> None:
        await self.fanout.publish(session_id, End(reason))

    async def participant_removed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, reason: str
    ) -> None:
        await self.fanout.publish(session_id, Remove(participant_id, reason))
        await self._leave_hand_queue(session_id, participant_id)

    async def _leave_hand_queue(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        """Someone who left or was removed has no hand up any more."""
        async with self.services.db.transaction() as tx:
            queue = await classroom.hand_queue(tx, session_id=session_id)
            if all(h.participant_id != participant_id for h in queue):
                return
            await classroom.lower_hand(tx, session_id=session_id, participant_id=participant_id)
        payload = {
            "type": "hand",
            "participant_id": str(participant_id),
            "raised": False,
            "raised_at": None,
            "queue": [str(h.participant_id) for h in queue if h.participant_id != participant_id],
        }
        await self.fanout.deliver(session_id, payload)

    async def role_changed(
        self, session_id: uuid.UUID, participant_id: uuid.UUID, role: Role
    ) -> None:
        await self.fanout.publish(session_id, RoleChange(participant_id, role))

    async def participant_admitted(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> None:
        await self.fanout.publish(session_id, Admit(participant_id))

    async def recording_changed(
        self, session_id: uuid.UUID, recording_id: uuid.UUID, state: str
    ) -> None:
        on = state in ("starting", "recording")
        await self.fanout.deliver(
            session_id,
            {
                "type": "recording_state",
                "recording": on,
                "state": state,
                "recording_id": str(recording_id),
            },
        )

    async def poll_changed(
        self, session_id: uuid.UUID, state: dict[str, Any], *, everyone: bool
    ) -> None:
        await self.fanout.publish(session_id, PollChanged(state, everyone))

    # -- arrived (on every node with sockets of the room) ---------------------------------

    @staticmethod
    def on_remove(room: Room, message: Remove) -> None:
        reason = message.reason.upper()
        for conn in room.sockets_of(str(message.participant_id)):
            conn.close(CloseCode.FORBIDDEN, f"{reason}: you were removed from the session.")

    @staticmethod
    def on_end(room: Room, message: End) -> None:
        text = encode({"type": "session_ended", "reason": message.reason})
        for conn in list(room.connections.values()):
            conn.push(text)
            conn.close(CloseCode.ENDED, f"SESSION_ENDED: {message.reason}")

    async def on_role(self, room: Room, message: RoleChange) -> None:
        pid, role = str(message.participant_id), message.role
        payload: dict[str, Any] = {
            "type": "role_changed",
            "participant_id": pid,
            "role": role.value,
            "permissions": Permissions.for_role(role).as_dict(),
        }
        room.mirror(payload)
        others = encode(payload)
        mine = list(room.sockets_of(pid))
        for conn in room.audience(to=None, exclude=pid, moderators_only=False):
            conn.push(others)
        if mine:
            # The role change bumped the token version: hand the socket a token that still works.
            payload.update(await self._fresh_token(mine[0], role))
        for conn in mine:
            conn.role = role
            conn.push(encode(payload))

    async def _fresh_token(self, conn: Connection, role: Role) -> dict[str, Any]:
        async with self.services.db.transaction() as tx:
            row = await get_participant(
                tx, session_id=conn.session_id, participant_id=conn.participant_id
            )
        if row is None:
            return {}
        token, expires = self.services.issuer.access_token(
            session_id=conn.session_id,
            participant_id=conn.participant_id,
            user_id=conn.user_id,
            name=conn.name,
            role=role,
            token_version=row.token_version,
        )
        return {"access_token": token, "expires_at": datetime.fromtimestamp(expires, UTC)}

    def on_poll(self, room: Room, message: PollChanged) -> None:
        """Each socket gets the poll as its role may see it, with its own answer; a draft
        and the live counts after an answer go to moderators (and the one who answered)."""
        room.has_polls = True
        state = message.state
        everyone = message.everyone and state["poll"]["status"] != "draft"
        answered = (state.get("answered") or {}).get("participant_id")
        rendering = Rendering(self._secret, state)
        # most recipients see the same thing (a student who has not answered): encode it once
        texts: dict[tuple[bool, str], str] = {}
        for conn in room.audience(to=None, exclude=None, moderators_only=False):
            moderator = conn.may(Action.RUN_POLLS)
            if not conn.sees_polls:
                continue
            if not (everyone or moderator or str(conn.participant_id) == answered):
                continue
            you = rendering.you(conn.participant_id)
            key = (moderator, str(you))
            text = texts.get(key)
            if text is None:
                poll = rendering.view(moderator=moderator)
                text = texts[key] = encode({"type": "poll", "poll": poll, "you": you})
            conn.push(text)
