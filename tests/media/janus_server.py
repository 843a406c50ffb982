"""A real Janus for tests and benchmarks, run from liveclass's own config template.

The config is rendered from ``deploy/janus/*.jcfg.in`` into a temporary folder with
random ports and secrets, bound to 127.0.0.1 only, loading only the videoroom plugin
and the http/websockets transports. Janus must run inside the media test network
namespace (``unshare -n``), where 127.0.0.1 is the only address: it gathers its ICE
candidates on ``jnet0``, an ``ifb`` device carrying 127.0.0.1/32, because Janus ignores
loopback interfaces.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "deploy" / "janus"
ICE_INTERFACE = "jnet0"
_LIB_DIRS = [Path("/usr/lib/x86_64-linux-gnu/janus"), Path("/usr/lib/aarch64-linux-gnu/janus")]


class JanusMissing(RuntimeError):
    """Janus (or the namespace it needs) is not available on this machine."""


def janus_binary() -> str | None:
    return shutil.which("janus")


def janus_lib_dir() -> Path:
    for candidate in _LIB_DIRS:
        if (candidate / "plugins" / "libjanus_videoroom.so").exists():
            return candidate
    raise JanusMissing("the Janus videoroom plugin is not installed (Debian package janus)")


def _ipv4_addresses() -> list[str]:
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], check=True, capture_output=True, text=True, timeout=5
    ).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines()]


def ensure_ice_interface() -> None:
    """Create ``jnet0`` (ifb, 127.0.0.1/32, no IPv6) if missing, only inside a namespace."""
    foreign = [a for a in _ipv4_addresses() if not a.startswith("127.")]
    if foreign:
        # Outside the namespace Janus and browsers would pair real addresses, and we
        # must not add 127.0.0.1 to a device on the host.
        raise JanusMissing(
            f"media tests must run inside `unshare -n` with only lo up (found {foreign})"
        )
    links = subprocess.run(
        ["ip", "-o", "link", "show"], check=True, capture_output=True, text=True, timeout=5
    ).stdout
    if f": {ICE_INTERFACE}:" in links:
        return
    for cmd in (
        ["ip", "link", "add", ICE_INTERFACE, "type", "ifb"],
        ["ip", "addr", "add", "127.0.0.1/32", "dev", ICE_INTERFACE],
        ["ip", "link", "set", ICE_INTERFACE, "up"],
    ):
        subprocess.run(cmd, check=True, capture_output=True, timeout=5)
    ipv6 = Path(f"/proc/sys/net/ipv6/conf/{ICE_INTERFACE}/disable_ipv6")
    if ipv6.exists():
        ipv6.write_text("1")


def _rtp_port_range() -> str:
    # Distinct ranges let several Janus servers share the namespace.
    start = 20_000 + secrets.randbelow(400) * 100
    return f"{start}-{start + 99}"


@dataclass
class JanusServer:
    """One running Janus process and what a client needs to reach it."""

    url: str
    ws_url: str
    admin_secret: str
    api_secret: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        admin_secret: str | None = None,
        api_secret: str | None = None,
        allow_origin: str = "*",
    ) -> JanusServer:
        """Start Janus; servers meant to serve one liveclass share its two secrets.

        ``allow_origin`` is what the HTTP transport answers browsers in
        ``Access-Control-Allow-Origin``: the classroom's origin, as a deployment sets it.
        """
        binary = janus_binary()
        if binary is None:
            raise JanusMissing("janus is not installed (Debian packages janus, janus-tools)")
        ensure_ice_interface()
        conf = _render_config(
            workdir,
            admin_secret=admin_secret or secrets.token_urlsafe(24),
            api_secret=api_secret or secrets.token_urlsafe(24),
            allow_origin=allow_origin,
        )
        log = workdir / "janus.log"
        proc = subprocess.Popen(
            [binary, "-F", str(conf.dir), "-o", "-N", "-L", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(
            url=f"http://127.0.0.1:{conf.http_port}/janus",
            ws_url=f"ws://127.0.0.1:{conf.ws_port}",
            admin_secret=conf.admin_secret,
            api_secret=conf.api_secret,
            log_path=log,
            process=proc,
        )
        server.wait_ready()
        return server

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited with {self.process.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/info", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"janus did not answer /janus/info within {timeout}s: {self.tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def restart(self) -> None:
        """Stop and start the same config again: every room is gone, as after a crash."""
        self.stop()
        args = self.process.args
        assert isinstance(args, list)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass(frozen=True)
class _RenderedConfig:
    dir: Path
    http_port: int
    ws_port: int
    admin_secret: str
    api_secret: str


def _render_config(
    workdir: Path, *, admin_secret: str, api_secret: str, allow_origin: str
) -> _RenderedConfig:
    lib = janus_lib_dir()
    conf_dir, plugins, transports, empty = (
        workdir / name for name in ("conf", "plugins", "transports", "empty")
    )
    for folder in (conf_dir, plugins, transports, empty):
        folder.mkdir(parents=True, exist_ok=True)
    # Janus loads every .so in its folders; link only what we want loaded.
    _link(lib / "plugins" / "libjanus_videoroom.so", plugins)
    for transport in ("libjanus_http.so", "libjanus_websockets.so"):
        _link(lib / "transports" / transport, transports)
    admin, api = admin_secret, api_secret
    http_port, ws_port = free_port(), free_port()
    values = {
        "CONF_DIR": str(conf_dir),
        "PLUGINS_DIR": str(plugins),
        "TRANSPORTS_DIR": str(transports),
        "EMPTY_DIR": str(empty),
        "MEDIA_IP": "127.0.0.1",
        "BIND_IP": "127.0.0.1",
        "ADMIN_SECRET": admin,
        "API_SECRET_LINE": f'api_secret = "{api}"' if api else "",
        "RTP_PORT_RANGE": _rtp_port_range(),
        "ICE_INTERFACE": ICE_INTERFACE,
        "HTTP_PORT": str(http_port),
        "WS_PORT": str(ws_port),
        "ALLOW_ORIGIN": allow_origin,
    }
    for template in TEMPLATE_DIR.glob("*.jcfg.in"):
        text = Template(template.read_text()).substitute(values)
        (conf_dir / template.name.removesuffix(".in")).write_text(text)
    os.chmod(conf_dir, 0o700)  # the files hold the secrets
    return _RenderedConfig(conf_dir, http_port, ws_port, admin, api)


def _link(source: Path, folder: Path) -> None:
    target = folder / source.name
    if not target.exists():
        target.symlink_to(source)
