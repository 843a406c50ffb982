"""Wrong settings stop ``liveclass serve`` with exit code 2 and a clear message; secrets set
nowhere are generated once into ``DATA_DIR/secrets.env`` and reused on the next start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from liveclass.auth.platform import mint_platform_token
from tests.api.helpers import session_body
from tests.api.test_cli import source_path
from tests.support.servers import free_port

GOOD = {
    "JWT_SECRET": "j" * 40,
    "SECRET_KEY": "s" * 40,
}


def _environment(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JWT_", "SECRET_", "DATABASE_", "DATA_DIR"))
    }
    clean.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", "PORT": "1"})
    clean["PYTHONPATH"] = source_path()
    clean.update(env)
    return clean


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = _environment(tmp_path, env)
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
        ({"PORT": "abc"}, "PORT"),  # with no secrets set: nothing is generated either
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({"JWT_JWKS_URL": "https://idp.invalid/jwks", "PORT": "abc"}, "PORT"),
        ({**GOOD, "SECRET_KEY": "short"}, "SECRET_KEY must be at least 32"),
        ({**GOOD, "JWT_SECRET": "short"}, "JWT_SECRET must be at least 32"),
        ({**GOOD, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({**GOOD, "PORT": "99999"}, "PORT"),
        ({**GOOD, "PORT": "eighty"}, "PORT"),
        ({**GOOD, "DEFAULT_PROVIDER": "skype"}, "DEFAULT_PROVIDER"),
        ({**GOOD, "DEFAULT_PROVIDER": "janus"}, "JANUS_URLS"),
        ({**GOOD, "DEFAULT_PROVIDER": "livekit"}, "LIVEKIT_URL"),
        ({**GOOD, "LIVEKIT_URL": "wss://lk.example.org"}, "LIVEKIT_API_KEY"),
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
    assert not (tmp_path / "var").exists()


@dataclass
class Started:
    base_url: str
    stderr: str = ""


@contextmanager
def _running(tmp_path: Path, **env: str) -> Iterator[Started]:
    """A real ``liveclass serve`` in ``tmp_path`` (no .env unless the test wrote one)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveclass.cli", "serve"],
        env=_environment(tmp_path, {"HOST": "127.0.0.1", "PORT": str(port), **env}),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = Started(f"http://127.0.0.1:{port}")
    try:
        _wait_until_healthy(started.base_url, proc)
        yield started
    finally:
        proc.terminate()
        started.stderr = proc.communicate(timeout=30)[1]
    assert "Traceback" not in started.stderr


def _wait_until_healthy(base_url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"liveclass serve exited {proc.returncode}: {proc.communicate()[1]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("liveclass serve did not answer within 60 s")


def _generated(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "var" / "secrets.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def _teacher(jwt_secret: str) -> dict[str, str]:
    token = mint_platform_token(jwt_secret, sub="t1", name="T", roles=["teacher"])
    return {"Authorization": f"Bearer {token}"}


def _create_and_join(base_url: str, jwt_secret: str) -> tuple[str, str]:
    """A new class's id and the host's access token."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post("/api/v1/sessions", json=session_body(), headers=_teacher(jwt_secret))
        assert created.status_code == 201, created.text
        session_id: str = created.json()["id"]
        joined = client.post(f"/api/v1/sessions/{session_id}/join", headers=_teacher(jwt_secret))
        assert joined.status_code == 200, joined.text
        access: str = joined.json()["access_token"]
    return session_id, access


def test_first_start_generates_the_secrets_and_says_where(tmp_path: Path) -> None:
    with _running(tmp_path) as server:
        secrets_file = tmp_path / "var" / "secrets.env"
        assert secrets_file.stat().st_mode & 0o777 == 0o600
        generated = _generated(tmp_path)
        assert set(generated) == {"JWT_SECRET", "SECRET_KEY"}
        assert all(len(value) >= 32 for value in generated.values())
        # the server verifies platform tokens with the generated JWT_SECRET ...
        _, access = _create_and_join(server.base_url, generated["JWT_SECRET"])
    # ... and signs its own with the generated SECRET_KEY
    assert jwt.decode(access, generated["SECRET_KEY"], algorithms=["HS256"])
    assert f"generated JWT_SECRET and SECRET_KEY into {secrets_file.resolve()}" in server.stderr


def test_second_start_reuses_the_secrets(tmp_path: Path) -> None:
    with _running(tmp_path) as server:
        first = _generated(tmp_path)
        session_id, access = _create_and_join(server.base_url, first["JWT_SECRET"])
    with _running(tmp_path) as again:
        # an access token issued before the restart still refreshes
        refreshed = httpx.post(
            f"{again.base_url}/api/v1/sessions/{session_id}/token",
            headers={"Authorization": f"Bearer {access}"},
        )
        assert refreshed.status_code == 200, refreshed.text
    assert _generated(tmp_path) == first
    assert f"using the generated secrets in {tmp_path / 'var' / 'secrets.env'}" in again.stderr
    assert "generated JWT_SECRET" not in again.stderr


def test_explicit_environment_wins(tmp_path: Path) -> None:
    stale = {"JWT_SECRET": "f" * 40, "SECRET_KEY": "g" * 40}  # as an earlier start left them
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in stale.items()))
    with _running(tmp_path, **GOOD) as server:
        _, access = _create_and_join(server.base_url, GOOD["JWT_SECRET"])
        refused = httpx.post(
            f"{server.base_url}/api/v1/sessions",
            json=session_body(),
            headers=_teacher(stale["JWT_SECRET"]),
        )
        assert refused.status_code == 401
    assert jwt.decode(access, GOOD["SECRET_KEY"], algorithms=["HS256"])
    assert _generated(tmp_path) == stale
    assert "secrets" not in server.stderr  # nothing generated or read from the file


def test_dotenv_wins_and_fills_in_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"JWT_SECRET={GOOD['JWT_SECRET']}\n")
    with _running(tmp_path) as server:
        _, access = _create_and_join(server.base_url, GOOD["JWT_SECRET"])
    generated = _generated(tmp_path)
    assert set(generated) == {"SECRET_KEY"}
    assert jwt.decode(access, generated["SECRET_KEY"], algorithms=["HS256"])
    assert "generated SECRET_KEY into" in server.stderr


def test_data_dir_chooses_where_the_secrets_live(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "liveclass.cli", "token"],
        env=_environment(tmp_path, {"DATA_DIR": str(tmp_path / "state")}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    secrets_file = tmp_path / "state" / "secrets.env"
    assert f"generated JWT_SECRET and SECRET_KEY into {secrets_file}" in result.stderr
    assert not (tmp_path / "var").exists()
    generated = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines())
    # stdout is only the token (README: TOKEN=$(liveclass token ...)), signed with the file's secret
    assert jwt.decode(result.stdout.strip(), generated["JWT_SECRET"], algorithms=["HS256"])
