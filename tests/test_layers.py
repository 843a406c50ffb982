"""Imports point one way: domain <- db, media, realtime, recording <- control <- api/web.

Only the imports a module runs count (those under ``if TYPE_CHECKING:`` name types only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "liveclass"

# what each package must not import at run time
FORBIDDEN = {
    "domain": ("db", "media", "realtime", "recording", "control", "services", "api", "web"),
    "db": ("control", "services", "api", "web", "realtime", "recording", "notify"),
    "media": ("control", "services", "api", "web"),
    "realtime": ("control", "services", "api", "web"),
    "recording": ("control", "services", "api", "web"),
    "notify": ("control", "services", "api", "web"),
    # the providers' wire clients know nothing of liveclass's own state
    "providers": (
        "db",
        "media",
        "realtime",
        "recording",
        "notify",
        "control",
        "services",
        "api",
        "web",
    ),
    "control": ("api", "web"),
    "web": ("api",),
    "api": ("web",),
}


def _runtime_imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def _offences(package: str) -> list[str]:
    banned = tuple(f"liveclass.{name}" for name in FORBIDDEN[package])
    offences = []
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for module in _runtime_imports(path):
            if any(module == b or module.startswith(b + ".") for b in banned):
                offences.append(f"{path.relative_to(PACKAGE)} imports {module}")
    return offences


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_those_below_it(package: str) -> None:
    assert _offences(package) == []
