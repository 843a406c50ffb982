"""The plain virtual environment the install tests run liveclass from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def plain_venv() -> Path:
    given = os.environ.get("LIVECLASS_PLAIN_VENV")
    if not given:
        reason = (
            "LIVECLASS_PLAIN_VENV is not set: scripts/test builds the plain venv "
            "(scripts/install --plain DIR) and sets it"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    venv = Path(given)
    assert (venv / "bin" / "liveclass").is_file(), f"{venv} has no liveclass installed"
    return venv


def clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """Only what any shell has: no PYTHONPATH, no secrets, no test settings."""
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env
