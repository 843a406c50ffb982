"""Real liveclass nodes in processes of their own, so a test can kill one (SIGKILL, SIGSTOP)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from liveclass.config import Settings
from tests.conftest import JWT_SECRET, SECRET_KEY, make_settings
from tests.realtime.conftest import Node
from tests.support.servers import free_port, liveclass_server_command, wait_healthy

# Quick beats so a dead node is found within a second or two.
HEARTBEAT_SECONDS = 0.2
EXPIRY_SECONDS = 1.0


class NodeProcess:
    """``uvicorn`` serving liveclass on its own port (so its own node id)."""

    def __init__(self, database_url: str, log: Path, *, redis_url: str | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        overrides: dict[str, object] = {
            "port": self.port,
            "public_base_url": self.base_url,
            "redis_url": redis_url,
            "node_heartbeat_seconds": HEARTBEAT_SECONDS,
            "node_expiry_seconds": EXPIRY_SECONDS,
        }
        self.settings: Settings = make_settings(database_url, **overrides)
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            DATABASE_URL=database_url,
            JWT_SECRET=JWT_SECRET,
            SECRET_KEY=SECRET_KEY,
            HOST="127.0.0.1",
            PORT=str(self.port),
            PUBLIC_BASE_URL=self.base_url,
            NODE_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            NODE_EXPIRY_SECONDS=str(EXPIRY_SECONDS),
        )
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def node(self) -> Node:
        return Node(self.base_url, self.settings)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                liveclass_server_command(self.port), env=self.env, stdout=out, stderr=out
            )

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_healthy(self.proc, self.base_url, self.log)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no closing frames; the node just stops beating."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
