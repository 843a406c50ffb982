"""Frozen records built from rows by column name: what leaves ``liveclass.db``.

A record is a frozen, slotted dataclass whose fields are named after its columns. ``Build``
makes one from a ``Row`` (asyncpg's Record or SQLAlchemy's RowMapping) by those names, and
turns the text of an enum-typed field into its ``StrEnum``; ``values_of`` goes the other
way, for an INSERT of every column.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

from liveclass.db.database import Row

R = TypeVar("R")


class Build(Generic[R]):
    """Builds ``cls`` records from rows, each field from the column of its name (after
    ``prefix``, for a row that carries two records side by side)."""

    __slots__ = ("_build", "_first", "cls", "names")

    def __init__(self, cls: type[R], *, prefix: str = "") -> None:
        self.cls = cls
        self.names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        self._first = prefix + self.names[0]
        self._build: Callable[[Row], R] = _builder(cls, self.names, prefix)

    def __call__(self, row: Row) -> R:
        return self._build(row)

    def maybe(self, row: Row | None) -> R | None:
        """The record of ``row``; None for no row, or when the record's columns are all
        NULL (the missing side of an outer join)."""
        if row is None or row[self._first] is None:
            return None
        return self._build(row)


def _builder(cls: type[R], names: tuple[str, ...], prefix: str) -> Callable[[Row], R]:
    """A function that builds one ``cls`` from a row, written out field by field.

    A frozen dataclass's own __init__ sets each field through object.__setattr__, and a
    loop over the fields pays for itself per field; the slots' descriptors called in a
    function written for this class (as dataclasses writes its __init__) build a session's
    record in half the time of the loop, a third of the __init__'s, which a listing of
    20 sessions pays 20 times per request.
    """
    hints = typing.get_type_hints(cls)
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def build(row):", "    record = _new(_cls)"]
    for i, name in enumerate(names):
        scope[f"_set{i}"] = getattr(cls, name).__set__
        key = repr(prefix + name)
        enum_type = _converter(hints[name])
        # the enum's own value-to-member table: a tenth of Enum(value)'s call (0.5 µs),
        # and an unknown value still fails (KeyError)
        convert = None if enum_type is None else enum_type._value2member_map_.__getitem__
        if convert is None:
            lines.append(f"    _set{i}(record, row[{key}])")
        else:
            scope[f"_convert{i}"] = convert
            lines.append(f"    value = row[{key}]")
            lines.append(f"    _set{i}(record, None if value is None else _convert{i}(value))")
    lines.append("    return record")
    exec("\n".join(lines), scope)  # the source is ours; the names come from fields()
    built: Callable[[Row], R] = scope["build"]
    return built


def _converter(hint: Any) -> type[enum.Enum] | None:
    """The enum a field holds (``Status`` or ``Status | None``), to build it from its text."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


def values_of(record: object, *, prefix: str = "") -> dict[str, Any]:
    """Every field of ``record`` by column name (enums as their values), for an INSERT."""
    values: dict[str, Any] = {}
    for f in fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        values[prefix + f.name] = value.value if isinstance(value, enum.Enum) else value
    return values


def changed(record: object, was: object, names: tuple[str, ...]) -> Mapping[str, Any]:
    """The fields among ``names`` whose value differs between ``record`` and ``was``."""
    found: dict[str, Any] = {}
    for name in names:
        value = getattr(record, name)
        if value != getattr(was, name):
            found[name] = value.value if isinstance(value, enum.Enum) else value
    return found
