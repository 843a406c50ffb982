"""Missing or wrong settings stop ``liveclass serve`` with exit code 2 and a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = {
    "JWT_SECRET": "j" * 40,
    "SECRET_KEY": "s" * 40,
}


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "SECRET_", "DATABASE_"))
    }
    clean.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", "PORT": "1"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "liveclass.cli", "serve"],
        env=clean,
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "s" * 40}, "JWT_SECRET"),
        ({"JWT_SECRET": "j" * 40}, "SECRET_KEY"),
        ({**GOOD, "SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({**GOOD, "JWT_SECRET": "short"}, "JWT_SECRET must be at least 32"),
        ({**GOOD, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({**GOOD, "PORT": "99999"}, "PORT"),
        ({**GOOD, "PORT": "eighty"}, "PORT"),
        ({**GOOD, "DEFAULT_PROVIDER": "skype"}, "DEFAULT_PROVIDER"),
        ({**GOOD, "DEFAULT_PROVIDER": "janus"}, "JANUS_URLS"),
        ({**GOOD, "ACCESS_TOKEN_TTL_SECONDS": "1"}, "ACCESS_TOKEN_TTL_SECONDS"),
    ],
)
def test_bad_settings_stop_start_up(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _serve(tmp_path, env)
    assert result.returncode == 2, result.stderr
    assert "configuration is not usable" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()  # nothing was started or created
