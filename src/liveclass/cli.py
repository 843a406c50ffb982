"""``liveclass serve|demo|migrate|token|init``."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from liveclass.auth.platform import mint_platform_token
from liveclass.config import GeneratedSecrets, Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: str = args.command
    if command == "init":
        return _init(Path(args.env_file))
    try:
        settings, generated = load_settings()
    except ValidationError as exc:
        _complain(exc)
        return 2
    except OSError as exc:
        print(f"liveclass: cannot keep the generated secrets (DATA_DIR): {exc}", file=sys.stderr)
        return 2
    if generated is not None:
        _tell_where(generated)
    if command == "migrate":
        return _migrate(settings)
    if command == "token":
        return _token(settings, args)
    if command == "serve":
        return _serve(settings, demo=False)
    return _serve(settings, demo=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveclass", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="migrate the database and serve the API and classroom")
    sub.add_parser("demo", help="serve, with a live demo class and host/student links")
    sub.add_parser("migrate", help="bring the database schema up to date")
    init = sub.add_parser("init", help="write a .env with fresh secrets (if there is none)")
    init.add_argument("--env-file", default=".env")
    token = sub.add_parser("token", help="mint a platform JWT (HS256) for trying the API")
    token.add_argument("--sub", default="teacher-1", help="user id")
    token.add_argument("--name", default="Teacher")
    token.add_argument("--roles", default="teacher", help="comma-separated platform roles")
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    return parser


def _complain(exc: ValidationError) -> None:
    print("liveclass: the configuration is not usable:", file=sys.stderr)
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
        print(f"  - {where}: {error['msg']}", file=sys.stderr)


def _tell_where(generated: GeneratedSecrets) -> None:
    # stderr, so `TOKEN=$(liveclass token)` captures only the token
    if generated.created:
        what = f"generated {' and '.join(generated.created)} into"
    else:
        what = "using the generated secrets in"
    print(
        f"liveclass: {what} {generated.path.resolve()}"
        " (set JWT_SECRET and SECRET_KEY to choose your own)",
        file=sys.stderr,
        flush=True,
    )


def _init(env_file: Path) -> int:
    if env_file.exists():
        print(f"{env_file} exists; leaving it as it is.")
        return 0
    env_file.write_text(
        f"JWT_SECRET={secrets.token_urlsafe(32)}\nSECRET_KEY={secrets.token_urlsafe(32)}\n"
    )
    env_file.chmod(0o600)
    print(f"wrote {env_file} with fresh JWT_SECRET and SECRET_KEY")
    return 0


def _migrate(settings: Settings) -> int:
    from liveclass.db.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    if settings.jwt_secret is None:
        print("liveclass: `token` needs JWT_SECRET (HS256)", file=sys.stderr)
        return 2
    roles = [r.strip() for r in str(args.roles).split(",") if r.strip()]
    print(
        mint_platform_token(
            settings.jwt_secret.get_secret_value(),
            sub=args.sub,
            name=args.name,
            roles=roles,
            ttl_seconds=args.ttl,
        )
    )
    return 0


def _serve(settings: Settings, *, demo: bool) -> int:
    import uvicorn

    from liveclass.app import create_app
    from liveclass.db.migrate import upgrade

    upgrade(settings.database_url)
    app = create_app(settings)
    print(f"liveclass {settings.base_url}  (API docs: {settings.base_url}/docs)", flush=True)
    if demo:
        for line in asyncio.run(_demo_links(settings)):
            print(line, flush=True)
    else:
        print(f"open {settings.base_url}/ to list and try classes", flush=True)
    # No per-message deflate: it costs ~40 KB per idle socket (docs/benchmarks.md), and
    # chat and presence frames are too small to gain from it.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ws_per_message_deflate=False,
    )
    return 0


async def _demo_links(settings: Settings) -> list[str]:
    from liveclass.control import participants, sessions
    from liveclass.db.types import utcnow
    from liveclass.domain.actors import Actor
    from liveclass.services import build_services

    # Demo links should still work after lunch; the classroom refreshes tokens itself.
    services = build_services(settings.model_copy(update={"access_token_ttl_seconds": 12 * 3600}))
    host = Actor(user_id="demo-teacher", name="Demo Teacher")
    draft = sessions.SessionDraft(
        title="liveclass demo",
        scheduled_at=utcnow() + timedelta(seconds=5),
        duration=120,
        default_role="speaker",
        max_participants=6,
    )
    row, _ = await sessions.create_session(services, host, draft)
    await sessions.start_session(services, host, row.id)
    lines = [f"demo class {row.id}"]
    for actor, label in (
        (host, "host"),
        (Actor(user_id="demo-student", name="Demo Student"), "student"),
    ):
        admission = await participants.join(services, actor, row.id, participants.JoinRequest())
        url = f"{settings.base_url}/classroom/{row.id}#token={admission.access_token}"
        lines.append(f"{label:8} {url}")
    await services.db.close()
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
