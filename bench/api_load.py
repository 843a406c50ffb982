"""Benchmark (issue 2): control-plane throughput against the server stack's own ceiling.

In one run on loopback: a fresh PostgreSQL, the real liveclass app under uvicorn (one
worker, in a child process) with one extra bare endpoint added by this script, and `wrk`
driving, with the same threads, connections and duration for each:

* ``GET /bench/bare`` — a tiny JSON answer through FastAPI, uvicorn and our middleware;
* ``POST /api/v1/sessions/{id}/join`` — first joins (new students into many live classes,
  as many as the bare endpoint's rate could use up) and joins again (students already seated);
* ``GET /api/v1/sessions?page=1&page_size=20&status=live&sort=-scheduled_at`` — a teacher.

The figures go into the "## Control plane (issue 2)" section of docs/benchmarks.md::

    .venv/bin/python bench/api_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import asyncpg  # type: ignore[import-untyped]
import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support (the PostgreSQL launcher)

from tests.support.servers import _pg_bin, free_port, postgres_server  # noqa: E402

from liveclass.app import create_app  # noqa: E402
from liveclass.auth.platform import mint_platform_token  # noqa: E402
from liveclass.config import Settings  # noqa: E402
from liveclass.db.migrate import upgrade  # noqa: E402

JWT_SECRET = "bench-platform-secret-0123456789abcdef"
SECRET_KEY = "bench-liveclass-secret-0123456789abcdef"
WRK = "/usr/bin/wrk"
SECTION = "## Control plane (issue 2)"
BEGIN, END = "<!-- bench:api -->", "<!-- /bench:api -->"
CAPACITY = 1000  # the API's largest max_participants
LIST_QUERY = "/api/v1/sessions?page=1&page_size=20&status=live&sort=-scheduled_at"
TARGETS = {"join (first)": 0.30, "join (again)": 0.50, "list": 0.40}
# First joins go to at least this many live classes at once (a platform's busy hour), so no
# class's row lock serialises them all. Every first join needs a (class, student) pair of
# its own, so the classes are sized from the bare endpoint's measured rate, which a first
# join (auth, two statements, a write) cannot beat: rate x seconds x PAIR_SAFETY pairs.
ARRIVAL_CLASSES = 24
WARM_CLASSES, WARM_STUDENTS = 4, 1000
PAIR_SAFETY = 1.5
# Bounds memory and set-up time (1,000 classes of CAPACITY seats, made over HTTP): a machine
# that runs first joins faster than this allows gets threads that stop early (counted, noted).
MAX_PAIRS = 1_000_000
# If a wrk thread still runs out of pairs (the rate was misjudged), the run is repeated with
# this many times the pairs, up to FIRST_JOIN_ATTEMPTS runs in all; never an abort.
PAIR_GROWTH, FIRST_JOIN_ATTEMPTS = 4, 3
STARTUP_S = 90  # as tests/support/servers.py allows a loaded machine

# Appended to every wrk script: one JSON line with the figures, parsed below. ``threads``
# (set by THREAD_OFFSET_LUA) tells how many threads ran out of work and stopped early.
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  local stopped = 0
  for _, thread in ipairs(threads or {}) do
    if thread:get("exhausted") then stopped = stopped + 1 end
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"stopped_threads":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), stopped))
end
"""


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration_s: int
    warmup_s: int

    def wrk_args(self, seconds: int) -> list[str]:
        return [f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s", "--latency"]


@dataclass(frozen=True)
class Figure:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    server_cpu_us: float  # the server process's CPU time per request: steady on a busy box


# -- the server, in a child process ---------------------------------------------------------


def bench_settings(database_url: str, port: int) -> Settings:
    return Settings(
        _env_file=None,  # no .env: only what is passed here
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        secret_key=SECRET_KEY,
        public_base_url=f"http://127.0.0.1:{port}",
        host="127.0.0.1",
        port=port,
    )


def serve(database_url: str, port: int) -> None:
    """The child process: liveclass's own app plus the bare endpoint, under one uvicorn worker."""
    app = create_app(bench_settings(database_url, port))

    @app.get("/bench/bare", include_in_schema=False)
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False
    )
    uvicorn.Server(config).run()


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def liveclass_server(database_url: str) -> Iterator[RunningServer]:
    """Yield the running server; stop it afterwards within bounded time."""
    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=serve, args=(database_url, port), name="liveclass-bench"
    )
    proc.start()
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, proc)
        assert proc.pid is not None
        yield RunningServer(base_url, proc.pid)
    finally:
        proc.terminate()
        proc.join(timeout=15)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


def _wait_healthy(base_url: str, proc: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if not proc.is_alive():
            raise RuntimeError(f"liveclass exited with code {proc.exitcode} while starting")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"liveclass did not answer /healthz within {STARTUP_S} s")


# -- the data the load runs against ---------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """What every run needs; the first joins' classes are made later, sized from a rate."""

    base_url: str
    session_id: str  # the class the re-joins go to
    teacher_token: str
    student_tokens: list[str]
    warm_tokens: list[str]  # other students: the warm-up leaves the measured ones new
    live_sessions: int
    all_sessions: int  # before the first joins' classes

    def open_classes(self, title: str, count: int) -> list[str]:
        """``count`` more live classes of CAPACITY seats, for first joins."""
        headers = {"Authorization": f"Bearer {self.teacher_token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as http:
            ids = [
                _create_session(http, f"{title} {n:03d}", capacity=CAPACITY) for n in range(count)
            ]
            for session_id in ids:
                _start(http, session_id)
        return ids


def _students(prefix: str, count: int) -> list[str]:
    return [
        mint_platform_token(
            JWT_SECRET,
            sub=f"{prefix}-{n:05d}",
            name=f"Student {n}",
            roles=["student"],
            ttl_seconds=7200,
        )
        for n in range(count)
    ]


def prepare(base_url: str, *, students: int, sessions: int) -> Fixture:
    teacher = mint_platform_token(
        JWT_SECRET, sub="bench-teacher", name="Bench Teacher", roles=["teacher"], ttl_seconds=7200
    )
    headers = {"Authorization": f"Bearer {teacher}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        session_id = _create_session(http, "Benchmark class", capacity=CAPACITY)
        _start(http, session_id)
        # half of the extra sessions go live, so the listed page is full and has more behind it
        for n in range(sessions):
            sid = _create_session(http, f"Lesson {n:03d}", capacity=30)
            if n % 2 == 0:
                _start(http, sid)
    return Fixture(
        base_url=base_url,
        session_id=session_id,
        teacher_token=teacher,
        student_tokens=_students("student", students),
        warm_tokens=_students("warm-student", WARM_STUDENTS),
        live_sessions=(sessions + 1) // 2,  # when the list runs: the join classes have ended
        all_sessions=1 + sessions,
    )


def _create_session(http: httpx.Client, title: str, *, capacity: int) -> str:
    when = datetime.now(UTC) + timedelta(minutes=30)
    body = {
        "title": title,
        "scheduled_at": when.isoformat(),
        "duration": 120,
        "max_participants": capacity,
        "default_role": "viewer",
    }
    response = http.post("/api/v1/sessions", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def _start(http: httpx.Client, session_id: str) -> None:
    http.post(f"/api/v1/sessions/{session_id}/start").raise_for_status()


# -- wrk ------------------------------------------------------------------------------------


def lua_get(path: str, token: str | None) -> str:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    return f'wrk.method = "GET"\nwrk.path = "{path}"\n{auth}{DONE_LUA}'


# Gives each wrk thread its number (0, 1, ...) as ``offset``; keeps the threads for ``done``.
THREAD_OFFSET_LUA = """
threads = {}
setup = function(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
"""


def lua_table(name: str, values: list[str]) -> str:
    rows = ",\n".join(f'  "{v}"' for v in values)
    return f"local {name} = {{\n{rows}\n}}\n"


def lua_join(path: str, tokens: list[str]) -> str:
    """Each wrk thread walks the token list from its own offset, wrapping around."""
    return f"""
{lua_table("tokens", tokens)}{THREAD_OFFSET_LUA}
init = function(args)
  index = (offset * 7919) % #tokens
end
request = function()
  index = index % #tokens + 1
  return wrk.format("POST", "{path}", {{
    ["Authorization"] = "Bearer " .. tokens[index],
    ["Content-Type"] = "application/json",
  }}, "{{}}")
end
{DONE_LUA}"""


def lua_first_joins(session_ids: list[str], tokens: list[str], threads: int) -> str:
    """Every request a (class, student) pair not joined before: thread t takes the t-th
    slice of the students and walks its pairs class by class, so the classes' row locks
    are shared. A thread that has used up its pairs stops (``exhausted``, read by ``done``):
    the request it must still return is never answered within the run, so only real first
    joins are counted."""
    paths = [f"/api/v1/sessions/{s}/join" for s in session_ids]
    return f"""
{lua_table("paths", paths)}{lua_table("tokens", tokens)}{THREAD_OFFSET_LUA}
init = function(args)
  local share = math.floor(#tokens / {threads})
  first = offset * share
  pairs_ = share * #paths
  n = 0
  exhausted = false
end
request = function()
  if n >= pairs_ then
    exhausted = true
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local k = n
  n = n + 1
  local path = paths[k % #paths + 1]
  local token = tokens[first + math.floor(k / #paths) + 1]
  return wrk.format("POST", path, {{
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }}, "{{}}")
end
{DONE_LUA}"""


@dataclass(frozen=True)
class WrkRun:
    figure: Figure
    stopped_threads: int  # threads that ran out of work (first joins: of new pairs)


def run_wrk(name: str, server: RunningServer, script: Path, load: Load, seconds: int) -> WrkRun:
    command = [WRK, *load.wrk_args(seconds), "-s", str(script), server.base_url]
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    match = re.search(r"^BENCH_JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(match.group(1))
    cpu = server.cpu_seconds() - cpu_before
    figure = Figure(
        name=name,
        requests_per_s=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        requests=raw["requests"],
        non2xx=raw["non2xx"],
        socket_errors=raw["socket_errors"],
        server_cpu_us=cpu / max(raw["requests"], 1) * 1e6,
    )
    return WrkRun(figure, raw["stopped_threads"])


def seated_count(server: RunningServer, teacher_token: str, session_ids: list[str]) -> int:
    """How many participants the classes have (each a first join so far)."""
    total = 0
    with httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {teacher_token}"},
        timeout=30,
    ) as http:
        for session_id in session_ids:
            response = http.get(f"/api/v1/sessions/{session_id}/participants?page_size=1")
            response.raise_for_status()
            total += int(response.json()["total"])
    return total


@dataclass(frozen=True)
class FirstJoins:
    """How the kept first-join run was fed, and what it did to the database."""

    classes: int  # the live classes its first joins went to
    pairs: int  # the (class, student) pairs its wrk threads had between them
    new_seats: int  # seats those classes have afterwards (at least the requests counted)
    attempts: int  # runs made: more than one when a thread ran out of pairs
    stopped_threads: int  # threads of the kept run that ran out of pairs (0 unless capped)
    opened: list[str]  # every class made for first joins and their warm-ups
    given: bool  # the first run's pairs came from --first-join-pairs, not the bare rate


def planned_pairs(bare_per_s: float, load: Load, students: int) -> int:
    """Pairs for one run: more than the bare endpoint's rate could use, within MAX_PAIRS."""
    wanted = math.ceil(bare_per_s * load.duration_s * PAIR_SAFETY)
    return min(max(wanted, ARRIVAL_CLASSES * students), MAX_PAIRS)


RunStep = Callable[..., WrkRun]


def measure_first_joins(
    run: RunStep, server: RunningServer, fixture: Fixture, load: Load, pairs: int, given: bool
) -> tuple[Figure, FirstJoins]:
    """First joins into fresh classes with ``pairs`` pairs; again with more if a wrk thread
    ran out of them (its figure would be low), at most FIRST_JOIN_ATTEMPTS times."""
    students = len(fixture.student_tokens)
    per_class = load.threads * (students // load.threads)  # the pairs a class gives wrk
    opened: list[str] = []
    for attempt in range(1, FIRST_JOIN_ATTEMPTS + 1):
        classes = max(1, math.ceil(pairs / per_class))
        warm_pairs = pairs * load.warmup_s / load.duration_s
        warm_classes = max(1, math.ceil(warm_pairs / len(fixture.warm_tokens)))
        arrival = fixture.open_classes(f"Arriving class {attempt}", classes)
        warm = fixture.open_classes(f"Warm-up class {attempt}", warm_classes)
        opened += arrival + warm
        # the warm-up runs the same path with other students in other classes; it may use
        # up its own pairs and stop early, which only shortens it
        done = run(
            "join (first)",
            lua_first_joins(arrival, fixture.student_tokens, load.threads),
            warmup=lua_first_joins(warm, fixture.warm_tokens, load.threads),
        )
        seats = seated_count(server, fixture.teacher_token, arrival)
        # (the server may finish a few requests wrk stopped waiting for: more seats is fine)
        if seats < done.figure.requests:
            raise RuntimeError(
                f"{done.figure.requests} first joins counted but {seats} new seats: "
                "lua_first_joins repeated a pair"
            )
        usable = classes * per_class
        last = attempt == FIRST_JOIN_ATTEMPTS or usable >= MAX_PAIRS
        if done.stopped_threads == 0 or last:
            return done.figure, FirstJoins(
                classes, usable, seats, attempt, done.stopped_threads, opened, given
            )
        print(
            f"join (first): {done.stopped_threads} of {load.threads} wrk threads used up "
            f"their pairs ({usable:,} in all); again with {PAIR_GROWTH}x as many",
            flush=True,
        )
        pairs = min(usable * PAIR_GROWTH, MAX_PAIRS)
    raise AssertionError("unreachable: the last attempt returns")


def measure(
    server: RunningServer,
    fixture: Fixture,
    load: Load,
    scripts: Path,
    database_url: str,
    first_join_pairs: int | None = None,
) -> tuple[list[Figure], FirstJoins]:
    """The figures, and how the first joins were fed (``first_join_pairs``: instead of
    sizing them from the bare rate, a fixed number, which a small one makes run out)."""
    figures: list[Figure] = []

    def run(
        name: str,
        lua: str,
        warmup: str | None = None,
        pending: Callable[[], int] = lambda: 0,
        fill: Callable[[], None] = lambda: None,
    ) -> WrkRun:
        script = scripts / f"{name.replace(' ', '-')}.lua"
        script.write_text(lua)
        warm = scripts / "warm.lua"
        warm.write_text(warmup or lua)
        if load.warmup_s:
            run_wrk(name, server, warm, load, load.warmup_s)
        # a slow machine's warm-up may not get everything ready in its seconds: ``fill`` does
        # the rest, at whatever speed the machine has
        if pending():
            fill()
            if left := pending():
                raise RuntimeError(f"{name}: {left} not ready after the warm-up and the fill")
        done = run_wrk(name, server, script, load, load.duration_s)
        figure = done.figure
        print(
            f"{name:12} {figure.requests_per_s:9.0f} req/s  p50 {figure.p50_ms:7.2f} ms  "
            f"p99 {figure.p99_ms:7.2f} ms  non-2xx {figure.non2xx}  "
            f"socket errors {figure.socket_errors}  server CPU {figure.server_cpu_us:.0f} µs/req"
            + (f"  ({done.stopped_threads} threads ran out)" if done.stopped_threads else ""),
            flush=True,
        )
        return done

    bare = run("bare", lua_get("/bench/bare", None)).figure
    figures.append(bare)
    # first joins: new students (their JWTs not seen before) into fresh classes, sized from
    # the bare rate, after a warm-up of the same path by other students in other classes
    students = len(fixture.student_tokens)
    pairs = first_join_pairs or planned_pairs(bare.requests_per_s, load, students)
    first, first_joins = measure_first_joins(
        run, server, fixture, load, pairs, given=first_join_pairs is not None
    )
    figures.append(first)
    # joins again: every student already holds a seat in the class (the warm-up seats them)
    teacher = fixture.teacher_token
    again = lua_join(f"/api/v1/sessions/{fixture.session_id}/join", fixture.student_tokens)
    figures.append(
        run(
            "join (again)",
            again,
            pending=lambda: students - seated_count(server, teacher, [fixture.session_id]),
            fill=lambda: _seat(server, fixture.session_id, fixture.student_tokens),
        ).figure
    )
    # the classes the joins went to are over: the listed page is the same live sessions as
    # in every earlier run (the teacher's 101 live of 201 created for it)
    _end_classes(server, teacher, [fixture.session_id, *first_joins.opened])
    # the joins above added thousands of rows; production's autovacuum would have analysed
    # the tables since, and a plan made on the statistics of empty tables measures nothing
    asyncio.run(_analyze(database_url))
    figures.append(run("list", lua_get(LIST_QUERY, fixture.teacher_token)).figure)
    return figures, first_joins


def _seat(server: RunningServer, session_id: str, tokens: list[str]) -> None:
    """Join every student once (a re-join for the seated ones), one request at a time."""
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for token in tokens:
            http.post(
                f"/api/v1/sessions/{session_id}/join",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()


def _end_classes(server: RunningServer, teacher_token: str, session_ids: list[str]) -> None:
    headers = {"Authorization": f"Bearer {teacher_token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        for session_id in session_ids:
            http.post(f"/api/v1/sessions/{session_id}/end").raise_for_status()


async def _analyze(database_url: str) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# -- the report -----------------------------------------------------------------------------


def machine_facts() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    postgres = subprocess.run(
        [_pg_bin("postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, uvicorn {uvicorn.__version__} "
        f"(uvloop + httptools when installed), {postgres}"
    )


def comparison(before: list[Figure], after: list[Figure], label: str) -> list[str]:
    """Before/after lines: a run of an earlier revision (``--json`` output) against this one."""
    then = {f.name: f for f in before}
    then_bare, now_bare = then["bare"].requests_per_s, after[0].requests_per_s
    lines = ["", f"Before/after ({label}; the earlier run on the same machine):", ""]
    for f in after:
        old = then.get(f.name)
        if old is None:
            continue  # a row the earlier run did not have
        lines.append(
            f"* {f.name}: {old.requests_per_s:,.0f} → {f.requests_per_s:,.0f} req/s, "
            f"p99 {old.p99_ms:.0f} → {f.p99_ms:.0f} ms, server CPU "
            f"{old.server_cpu_us:,.0f} → {f.server_cpu_us:,.0f} µs/req, "
            f"{old.requests_per_s / then_bare:.0%} → {f.requests_per_s / now_bare:.0%} of bare"
        )
    names = {f.name for f in after}
    for name, old in then.items():
        if name not in names:  # a row this run no longer has (one "join" row, earlier)
            lines.append(
                f"* {name} (the earlier run's row): {old.requests_per_s:,.0f} req/s, p99 "
                f"{old.p99_ms:.0f} ms, server CPU {old.server_cpu_us:,.0f} µs/req, "
                f"{old.requests_per_s / then_bare:.0%} of bare"
            )
    return lines


def render(
    figures: list[Figure],
    load: Load,
    fixture: Fixture,
    command: str,
    first_joins: FirstJoins,
    extra: list[str],
) -> str:
    by_name = {f.name: f for f in figures}
    bare = by_name["bare"].requests_per_s
    rows = [
        f"| {f.name} | {f.requests_per_s:,.0f} | {f.p50_ms:.2f} | {f.p99_ms:.2f} | "
        f"{f.server_cpu_us:,.0f} | {f.requests:,} | {f.non2xx} | {f.requests_per_s / bare:.0%} |"
        for f in figures
    ]
    verdicts = [
        f"{name} at {by_name[name].requests_per_s / bare:.0%} of bare "
        f"(target ≥ {share:.0%}: "
        f"{'met' if by_name[name].requests_per_s / bare >= share else 'NOT met'})"
        for name, share in TARGETS.items()
    ]
    return "\n".join(
        [
            SECTION,
            "",
            BEGIN,
            f"`{command}` — run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, one machine: "
            f"{machine_facts()}.",
            "",
            f"One run, all on loopback: a fresh PostgreSQL (fsync off), liveclass "
            f"`create_app()` under uvicorn with 1 worker (access log off), and "
            f"`wrk -t{load.threads} -c{load.connections} -d{load.duration_s}s --latency` "
            f"for each endpoint after a {load.warmup_s} s warm-up of the same. wrk, the "
            f"server and PostgreSQL share the same {os.cpu_count()} cores, so every figure "
            "is lower than on a machine where the load generator runs elsewhere; the ratios "
            "are the point.",
            "",
            "* **bare** — `GET /bench/bare`, a tiny JSON route the benchmark adds to the same "
            "app object: FastAPI + uvicorn + our middleware, no auth, no database. The ceiling.",
            f"* **join (first)** — `POST /api/v1/sessions/{{id}}/join` with body `{{}}`, every "
            "request a student's first join into a class: "
            f"{len(fixture.student_tokens):,} students whose platform JWTs the server has not "
            f"seen before, joining {first_joins.classes} live public classes at once "
            f"(max_participants {CAPACITY}, default role viewer); each wrk thread takes its "
            "own students and goes class by class. "
            + (
                f"The classes were given: {first_joins.pairs:,} (class, student) pairs "
                "(--first-join-pairs, standing in for a faster machine); "
                if first_joins.given
                else "The classes are sized from the bare endpoint's rate: "
                f"{first_joins.pairs:,} (class, student) pairs, at least {PAIR_SAFETY}x what "
                f"the bare rate would use in {load.duration_s} s (a first join cannot beat it) "
                f"and at least {ARRIVAL_CLASSES} classes; "
            )
            + "a wrk thread that used "
            "up its pairs would stop rather than repeat one, and the run would be made again "
            f"with more ({_attempts(first_joins)}). The warm-up runs the same path with other "
            f"students in other classes. All {first_joins.new_seats:,} measured joins made a "
            "new seat (checked).",
            f"* **join (again)** — the same request by students who already hold a seat (a "
            f"reload, a second device): {len(fixture.student_tokens):,} students cycling in "
            "one class, all seated by the warm-up (where a slow machine's warm-up does not "
            "reach them all, by one join each after it; checked). One read, a fresh access "
            "token, no write.",
            f"* **list** — `GET {LIST_QUERY}` as the teacher who owns "
            f"{fixture.live_sessions} live sessions (of "
            f"{fixture.all_sessions + len(first_joins.opened)} in all): a full page of 20 "
            "plus the total.",
            "",
            "| endpoint | req/s | p50 (ms) | p99 (ms) | server CPU (µs/req) | requests "
            "| non-2xx | vs bare |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Targets: " + "; ".join(verdicts) + ".",
            "",
            "Where the time goes. Binding: join and list take only the request and bind it "
            "in one step (src/liveclass/api/lean.py): the caller from the Authorization "
            "header, the list's eleven query parameters as one pydantic model, the join's "
            "path and body with FastAPI's own rules. Bound the ordinary FastAPI way instead, "
            "the same routes cost the server about 320 µs more CPU per list and 160-280 µs "
            'more per join ("api/lean.py: keep or drop" below); the OpenAPI document stays '
            "the committed snapshot (a test compares them). "
            "Database: on PostgreSQL the re-join's one SELECT and the list's one statement run "
            "on asyncpg connections directly, compiled once from the same Core statements and "
            "prepared per connection, from a small asyncpg pool of ours (no greenlet hop, no "
            "reset query at release). A first join is two round trips: the read above, which "
            "also returns the class when the caller has no seat yet, and one autocommitted "
            "statement that updates the class's row only if it still looks as the checks saw "
            "it and has a free seat by its seat counters (seated, publishing and joined "
            "counts kept on the row), and inserts the seat and the outbox event from that "
            "update's RETURNING (data-modifying CTEs). Concurrent first joins wait for the row "
            "for that one statement, and PostgreSQL re-reads the guard on the newest row, so "
            "capacity stays exact; every other change of a seat counts the participants into "
            "the counters again under the row lock, and a join the statement refuses goes "
            "the locked way (BEGIN, lock, count, write, COMMIT). Before the one-statement join "
            "(the previous round), a first join was that locked way through SQLAlchemy, 3.3 ms "
            "of server CPU. Access "
            "tokens are signed directly (the same bytes as PyJWT writes, 8 instead of 22 µs). "
            "The list selects only the columns it shows, in the response's order, and builds "
            "each item from the row as read; its total is a scalar subquery PostgreSQL runs "
            "once, not count(*) over (), which carried every matching row into the sort for "
            "the top 20. JSON goes through orjson (the same output as pydantic for these "
            "values). SQLite keeps the Core path. "
            "What is left is mostly what every request pays: uvicorn, Starlette and FastAPI's "
            "routing and middleware (the bare endpoint's CPU), asyncpg's round trip and "
            "row decoding (about 100 µs for a page of 20), and building 20 items (about 2 µs "
            "each). The req/s ratio is a little below the CPU ratio because PostgreSQL and "
            "wrk share the two cores with the server: a list or a join costs PostgreSQL CPU "
            "too, a bare request none. Before the list runs, the join classes end (so the "
            "live sessions listed are the ones made for the list, as in earlier rounds) and "
            "ANALYZE brings the "
            "tables' statistics up to date after the joins' inserts, as autovacuum would.",
            *extra,
            END,
            "",
        ]
    )


def _attempts(first_joins: FirstJoins) -> str:
    runs = "one run" if first_joins.attempts == 1 else f"{first_joins.attempts} runs"
    if not first_joins.stopped_threads:
        return f"this figure: {runs}, no thread ran out"
    return (
        f"this figure: {runs}, and {first_joins.stopped_threads} thread(s) still ran out and "
        "stopped early, so the rate is a lower bound"
    )


def write_section(path: Path, block: str) -> None:
    """Replace only our section of docs/benchmarks.md; other sections belong to others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = text.find(BEGIN), text.find(END)
    heading = text.find(SECTION)
    if heading != -1 and begin != -1 and end != -1:
        text = text[:heading] + block.rstrip("\n") + text[end + len(END) :]
    elif heading != -1:
        after = text.find("\n## ", heading + len(SECTION))
        text = text[:heading] + block + ("" if after == -1 else text[after + 1 :])
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the context managers, which stop the servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="seconds per endpoint")
    parser.add_argument("--students", type=int, default=CAPACITY)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument(
        "--first-join-pairs",
        type=int,
        help="(class, student) pairs for the first first-join run instead of sizing them from "
        "the bare rate; a small number stands in for a faster machine",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare", type=Path, help="a --json file of an earlier run")
    parser.add_argument("--compare-label", default="before the fixes of issue 2")
    args = parser.parse_args()
    if args.students > CAPACITY:
        parser.error(f"--students above {CAPACITY} would meet SESSION_FULL, not measure join")
    if args.students < args.threads:
        parser.error("--students below --threads would leave a wrk thread without students")
    load = Load(args.threads, args.connections, args.duration, args.warmup)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    with postgres_server() as database_url, tempfile.TemporaryDirectory() as scripts:
        upgrade(database_url)
        with liveclass_server(database_url) as server:
            fixture = prepare(server.base_url, students=args.students, sessions=args.sessions)
            figures, first_joins = measure(
                server, fixture, load, Path(scripts), database_url, args.first_join_pairs
            )
    command = shlex.join([".venv/bin/python", "bench/api_load.py", *sys.argv[1:]])
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))
    extra = []
    if args.compare:
        before = [Figure(**f) for f in json.loads(args.compare.read_text())]
        extra = comparison(before, figures, args.compare_label)
    block = render(figures, load, fixture, command, first_joins, extra)
    print(block)
    if not args.no_write:
        write_section(args.output, block)


if __name__ == "__main__":
    main()
