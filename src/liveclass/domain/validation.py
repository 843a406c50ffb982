"""Rules for values that come from outside: instants, the platform's ids, display names.

Each check returns the value it accepts (an instant in UTC) or raises ``ValueError`` with a
sentence about the value; the API layer names the field.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

# The instants liveclass accepts, in UTC. Python's datetime stops at years 1 and 9999, so an
# instant near either end cannot be moved to UTC or have a class's duration added to it;
# nothing a learning platform schedules lies outside these years.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

EXTERNAL_ID_MAX = 128
DISPLAY_NAME_MAX = 100


def utc_instant(value: datetime) -> datetime:
    """``value`` in UTC; a value without a zone is taken as UTC. Outside EARLIEST..LATEST
    it is refused."""
    # A zone moves an instant by less than a day, so from a year either side of the range
    # the conversion below cannot leave datetime's; the exact bounds are checked after it.
    if not EARLIEST.year - 1 <= value.year <= LATEST.year + 1:
        raise ValueError(_out_of_range())
    instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(_out_of_range())
    return instant


def _out_of_range() -> str:
    return f"must lie in the years {EARLIEST.year} to {LATEST.year} (UTC)"


def external_id(value: str) -> str:
    """A platform's own id (a user, course, owner or booking): any text of 1 to 128
    characters without control characters. The platform's ids are opaque to us (integers,
    UUIDs, slugs such as ``algebra-101`` or ``course:42``), so nothing else is asked."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > EXTERNAL_ID_MAX:
        raise ValueError(f"must be at most {EXTERNAL_ID_MAX} characters")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def display_name(value: str) -> str:
    """The name a person is shown under in a class: 1 to 100 characters once trimmed, with
    no control characters (a newline or an escape would break every roster it is in)."""
    name = value.strip()
    if not name:
        raise ValueError("must not be empty")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValueError(f"must be at most {DISPLAY_NAME_MAX} characters")
    if has_control_characters(name):
        raise ValueError("must not contain control characters")
    return name


def has_control_characters(value: str) -> bool:
    # Unicode's Cc: C0 (NUL, newline, escape...), DEL and C1. PostgreSQL cannot store NUL.
    return any(unicodedata.category(c) == "Cc" for c in value)
