"""liveclass installed with a plain ``pip install .`` (no extras) serves a class from start.

The virtual environment is built by ``scripts/install --plain`` before the tests enter their
network namespace (pip cannot reach an index from inside it) and named by
``LIVECLASS_PLAIN_VENV``. The server runs from it as a real process, with no ``.env``, no
secrets and a clean environment, so nothing the test install brings can hide a missing
dependency.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.install.conftest import clean_env
from tests.support.servers import free_port

# static `import ... from './x.js'` and `import './x.js'`; JSDoc's import('...') is not a load
_MODULE_IMPORT = re.compile(r"""^\s*import\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]""", re.M)
_PAGE_ASSET = re.compile(r"""<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)\"""")


def _python(venv: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        env=clean_env(venv),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_plain_venv_has_no_extras_and_no_source_tree(plain_venv: Path, tmp_path: Path) -> None:
    for module in ("pytest", "boto3"):
        result = _python(plain_venv, f"import {module}", tmp_path)
        assert result.returncode != 0, f"{module} is installed in the plain venv"
        assert f"No module named '{module}'" in result.stderr
    where = _python(plain_venv, "import liveclass; print(liveclass.__file__)", tmp_path)
    assert where.returncode == 0, where.stderr
    # a copy in the venv's site-packages, not the editable source tree
    assert Path(where.stdout.strip()).is_relative_to(plain_venv)


@pytest.fixture
def served(plain_venv: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(plain_venv / "bin" / "liveclass"), "serve"],
        env=clean_env(plain_venv, HOST="127.0.0.1", PORT=str(port)),
        cwd=tmp_path,  # no .env here: the embedded defaults
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base, proc)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def _wait_until_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"liveclass serve exited with {proc.returncode}:\n{err[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("liveclass serve did not answer /healthz within 60 s")


def _token(venv: Path, cwd: Path) -> str:
    # the token command signs with the secret the server generated in ./var
    result = subprocess.run(
        [str(venv / "bin" / "liveclass"), "token", "--sub", "t1", "--roles", "teacher"],
        env=clean_env(venv),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _module_graph(client: httpx.Client, page_url: str, html: str) -> dict[str, int]:
    """Status of every stylesheet, script and (transitively) ES module the page loads."""
    pending = [urljoin(page_url, ref) for ref in _PAGE_ASSET.findall(html)]
    statuses: dict[str, int] = {}
    while pending:
        url = pending.pop()
        if url in statuses:
            continue
        response = client.get(url)
        statuses[url] = response.status_code
        if url.endswith(".js") and response.status_code == 200:
            pending += [urljoin(url, ref) for ref in _MODULE_IMPORT.findall(response.text)]
    return statuses


def test_plain_install_serves_a_class(
    plain_venv: Path, tmp_path: Path, served: tuple[str, subprocess.Popen[str]]
) -> None:
    base, _ = served
    auth = {"Authorization": f"Bearer {_token(plain_venv, tmp_path)}"}
    when = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    with httpx.Client(base_url=base, timeout=30) as client:
        created = client.post(
            "/api/v1/sessions",
            json={"title": "First run", "scheduled_at": when, "duration": 30},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        joined = client.post(f"/api/v1/sessions/{created.json()['id']}/join", headers=auth)
        assert joined.status_code == 200, joined.text
        classroom_url = joined.json()["classroom_url"]
        assert urlsplit(classroom_url).netloc == urlsplit(base).netloc
        page = client.get(urlsplit(classroom_url).path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        loaded = _module_graph(client, str(page.url), page.text)
    assert any(url.endswith("/classroom.js") for url in loaded)
    assert any(url.endswith("/liveclass-client.js") for url in loaded)
    assert {url: status for url, status in loaded.items() if status != 200} == {}


def test_first_start_says_where_it_keeps_the_secrets(
    tmp_path: Path, served: tuple[str, subprocess.Popen[str]]
) -> None:
    _, proc = served
    secrets_file = tmp_path / "var" / "secrets.env"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert f"generated JWT_SECRET and SECRET_KEY into {secrets_file.resolve()}" in err
    assert "Traceback" not in err


def test_s3_storage_without_the_extra_names_it(plain_venv: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(plain_venv / "bin" / "liveclass"), "serve"],
        env=clean_env(plain_venv, RECORDING_STORAGE="s3", S3_BUCKET="recordings", PORT="1"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "RECORDING_STORAGE" in result.stderr
    assert "pip install 'liveclass[s3]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_s3_storage_made_directly_names_the_extra(plain_venv: Path, tmp_path: Path) -> None:
    code = (
        "from liveclass.recording.errors import StorageError\n"
        "from liveclass.recording.storage import S3Storage\n"
        "try:\n"
        "    S3Storage('recordings')\n"
        "except StorageError as exc:\n"
        "    print(exc)\n"
    )
    result = _python(plain_venv, code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pip install 'liveclass[s3]'" in result.stdout
