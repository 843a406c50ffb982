"""``liveclass token`` mints a JWT the server accepts; ``liveclass migrate`` builds the schema."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import jwt

import liveclass

JWT_SECRET = "cli-platform-secret-0123456789-abcdef"


def source_path() -> str:
    """PYTHONPATH that makes a child process import this very liveclass.

    The children run in a temporary directory, where a relative ``PYTHONPATH=src`` would
    name nothing and they would silently import whichever liveclass is installed."""
    here = str(Path(liveclass.__file__).resolve().parents[1])
    return os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "SECRET_", "DATABASE_"))
    }
    clean.update(
        JWT_SECRET=JWT_SECRET,
        SECRET_KEY="k" * 40,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        PYTHONPATH=source_path(),
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "liveclass.cli", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_token_verifies(tmp_path: Path) -> None:
    result = _run(tmp_path, "token", "--sub", "u-42", "--name", "Ada", "--roles", "teacher,admin")
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "u-42"
    assert claims["name"] == "Ada"
    assert claims["roles"] == ["teacher", "admin"]
    assert claims["exp"] - claims["iat"] == 3600


def test_token_accepted_by_verifier(tmp_path: Path) -> None:
    import asyncio

    from liveclass.auth.platform import PlatformVerifier
    from liveclass.config import Settings

    token = _run(tmp_path, "token", "--sub", "u-1", "--ttl", "60").stdout.strip()
    settings = Settings(_env_file=None, jwt_secret=JWT_SECRET, secret_key="k" * 40)
    caller = asyncio.run(PlatformVerifier(settings).verify(token))
    assert caller.user_id == "u-1"
    assert caller.may_create_sessions


def test_migrate(tmp_path: Path) -> None:
    result = _run(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    with sqlite3.connect(tmp_path / "cli.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
    assert {"live_sessions", "participants", "alembic_version"} <= tables
    again = _run(tmp_path, "migrate")
    assert again.returncode == 0


def test_migrate_postgres(tmp_path: Path, postgres_url: str) -> None:
    result = _run(tmp_path, "migrate", DATABASE_URL=postgres_url)
    assert result.returncode == 0, result.stderr
