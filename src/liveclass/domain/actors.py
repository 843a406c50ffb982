"""Who performs a use case: a platform caller (REST) or a connected participant (WebSocket)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    name: str
    is_admin: bool = False
