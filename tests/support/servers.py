"""Real PostgreSQL and Redis servers for the tests: temporary directories, loopback, random ports.

The test script can start them itself and pass ``LIVECLASS_TEST_POSTGRES_URL`` /
``LIVECLASS_TEST_REDIS_URL``; otherwise these start them for the pytest run.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def liveclass_server_command(port: int) -> list[str]:
    """The real server in its own process, configured from the environment (``create_app``)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "liveclass.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def wait_healthy(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Wait for a liveclass process to answer ``/healthz``; fail with its log if it exits."""
    # Generous: on a loaded machine importing the app alone has taken ten seconds.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("liveclass exited:\n" + log.read_text()[-3000:])
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    # reap it here: a process left running would be reported against a later test
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError("liveclass did not start within 90 s:\n" + log.read_text()[-3000:])


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package creates a `postgres` user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return path


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within 30 s")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an asyncpg URL of a fresh PostgreSQL cluster, stopped and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="liveclass-pg-"))
    data, log = root / "data", root / "log"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user(
            [
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "liveclass",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    log_file = open(log, "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        _as_postgres_user(
            [
                _pg_bin("postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        _wait_for_port(port, proc, "postgres", log)
        _wait_ready(port)
        yield f"postgresql+asyncpg://liveclass@127.0.0.1:{port}/postgres"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log_file.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ok = subprocess.run(
            [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        )
        if ok.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("postgres never became ready")


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    root = Path(tempfile.mkdtemp(prefix="liveclass-redis-"))
    port = free_port()
    log = root / "log"
    log_file = open(log, "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, proc, "redis", log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log_file.close()
        shutil.rmtree(root, ignore_errors=True)
