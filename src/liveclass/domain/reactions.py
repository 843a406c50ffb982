"""Reactions: the emoji a participant may send over their tile (not stored)."""

from __future__ import annotations

REACTIONS = ("👍", "👏", "❤️", "😂", "😮", "🎉", "🤔", "👋")

# Per person: one a second on average, bursts of five.
REACTIONS_PER_SECOND = 1.0
REACTION_BURST = 5
