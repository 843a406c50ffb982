"""Room ids, secrets, pins, tokens and feed ids for Janus, derived from liveclass's key.

Deriving them (HMAC over the session and participant ids) instead of storing them
means nothing secret sits in ``MediaRoom.data``, a room re-created after a Janus
restart gets the very same credentials, and a participant's token can be revoked
later without remembering it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

# Janus ids travel as JSON numbers; JavaScript clients (janus.js) lose precision
# above 2**53, so every numeric id we choose stays below it.
_MAX_JS_INT = 2**53 - 1


class JanusCredentials:
    """Deterministic per-session and per-participant Janus credentials."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the Janus credentials key must be at least 16 bytes")
        self._key = key

    def _digest(self, *parts: str) -> bytes:
        message = "\x1f".join(parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _number(self, *parts: str) -> int:
        value = int.from_bytes(self._digest(*parts)[:8], "big") & _MAX_JS_INT
        return value or 1  # Janus reads 0 as "pick one for me"

    def room_id(self, session_id: uuid.UUID) -> int:
        return self._number("room", str(session_id))

    def room_secret(self, session_id: uuid.UUID) -> str:
        """Needed to edit, kick in or destroy the room; never leaves liveclass."""
        return self._digest("secret", str(session_id)).hex()

    def pin(self, session_id: uuid.UUID) -> str:
        """Needed by everyone liveclass admitted, to join or subscribe."""
        return self._digest("pin", str(session_id)).hex()[:32]

    def publish_token(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> str:
        """In the room's ``allowed`` list only while the participant may publish."""
        return self._digest("token", str(session_id), str(participant_id)).hex()[:40]

    def feed_ids(self, session_id: uuid.UUID, participant_id: uuid.UUID) -> tuple[int, int]:
        """The participant's camera feed id and screen-share feed id in the room."""
        camera = self._number("feed", str(session_id), str(participant_id), "camera")
        screen = self._number("feed", str(session_id), str(participant_id), "screen")
        return camera, screen
