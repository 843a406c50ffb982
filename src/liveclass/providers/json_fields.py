"""Reading providers' JSON: fields may be missing, null, or a number where a string was
expected (a Zoom meeting id is an int64 in the API and a string in some webhooks), so each
read says what it wants and falls back to an empty value instead of raising."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text(message: Mapping[str, Any], name: str) -> str:
    value = message.get(name)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def integer(message: Mapping[str, Any], name: str) -> int:
    value = message.get(name)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def submessage(message: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = message.get(name)
    return value if isinstance(value, dict) else {}


def submessages(message: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = message.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def flag(message: Mapping[str, Any], name: str) -> bool:
    """A boolean sent as JSON ``true`` or as the string ``"true"`` (Jitsi writes both)."""
    value = message.get(name)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
