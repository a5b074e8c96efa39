"""The `farmlive` command: serve, relay, users add, db upgrade, ledger verify."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from server.request_log import log_config
from server.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="farmlive", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run HTTP, WebSocket and the relay in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="create the Lục Ngạn lychee demo")
    serve.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)

    relay = sub.add_parser("relay", help="run only the WHIP/WHEP relay (one process per core)")
    relay.add_argument("--host", default="127.0.0.1")
    relay.add_argument("--port", type=int, default=8100)
    relay.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")

    users = sub.add_parser("users", help="manage staff accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a staff user (password from stdin)")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=["admin", "host", "coop", "moderator"])
    add.add_argument("--cooperative", type=int, default=None)
    add.add_argument("--password", default=None)
    add.add_argument("--name", default="")

    demo = sub.add_parser("demo", help="the Lục Ngạn lychee demo")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    reset = demo_sub.add_parser(
        "reset", help="empty the demo database and create the demo afresh (server stopped)"
    )
    reset.add_argument("--force", action="store_true", help="even if it holds no demo")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")

    ledger = sub.add_parser("ledger", help="the public sales ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = ledger_sub.add_parser(
        "verify", help="recompute every chain and check it against the orders"
    )
    verify.add_argument("--session", type=int, default=None, help="only this session")

    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.demo)
    if args.command == "relay":
        return _relay(settings, args.host, args.port, args.cpu)
    if args.command == "users":
        return asyncio.run(_users_add(settings, args))
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command == "ledger":
        return asyncio.run(_ledger_verify(settings, args.session))
    if args.command == "demo":
        return asyncio.run(_demo_reset(settings, args.force))
    return 2


def _serve(settings: Settings, host: str, port: int, demo: bool) -> int:
    import uvicorn

    from server import heap
    from server.app import create_app
    from server.http_limits import serve_options

    if demo:
        asyncio.run(_print_demo(settings, host, port))
    heap.tune()
    app = create_app(settings, after_startup=heap.settle)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        **serve_options(settings),
    )
    return 0


def _relay(settings: Settings, host: str, port: int, cpu: int | None) -> int:
    import os

    import uvicorn

    from server.http_limits import uvicorn_limits
    from server.relay_app import create_relay_app

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    uvicorn.run(
        create_relay_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
        proxy_headers=False,
        access_log=False,
        **uvicorn_limits(settings),
    )
    return 0


async def _print_demo(settings: Settings, host: str, port: int) -> None:
    from server.demo import ensure_demo
    from server.services import open_services

    async with open_services(settings) as services:
        demo = await ensure_demo(services)
    base = settings.public_url or f"http://{host}:{port}"
    print(f"farmlive demo ready: {base}", flush=True)
    print(f"  viewer page:   {base}/live/{demo.session_id}")
    print(f"  host studio:   {base}/studio/{demo.session_id}")
    print(f"  cooperative:   {base}/coop")
    print(f"  staff console: {base}/quan-tri   (admin)")
    print(f"  moderator:     {base}/dieu-phoi/{demo.session_id}   (mod@farmlive.local)")
    print(f"  transparency:  {base}/minh-bach/{demo.session_id}")
    print(f"  API:           {base}/api/sessions   (docs: {base}/api/docs)")
    print("  demo logins (e-mail / password / role):")
    for email, password, role in demo.logins:
        print(f"    {email} / {password} / {role}")
    sys.stdout.flush()


async def _demo_reset(settings: Settings, force: bool) -> int:
    from server.demo import reset_demo
    from server.services import open_services
    from shop.errors import ShopError

    async with open_services(settings) as services:
        try:
            demo = await reset_demo(services, force=force)
        except ShopError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
    print(f"demo reset: session {demo.session_id}; logins as printed by `farmlive serve --demo`")
    return 0


async def _users_add(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth import hash_password
    from server.services import open_services
    from shop.accounts import Role
    from shop.errors import ShopError

    password = args.password
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
        password = password.rstrip("\n")
    if len(password) < 8:
        print("error: the password needs at least 8 characters", file=sys.stderr)
        return 2
    async with open_services(settings) as services:
        try:
            user = await services.accounts.add(
                args.email,
                hash_password(password),
                Role(args.role),
                cooperative_id=args.cooperative,
                display_name=args.name,
            )
        except ShopError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
    print(user.id)
    return 0


async def _db_upgrade(settings: Settings) -> int:
    from server.db import make_engine
    from shop.adapters.sql.migrate import current_revision, upgrade

    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def _ledger_verify(settings: Settings, session_id: int | None) -> int:
    """Exit 0 when every chain recomputes and agrees with the orders, else 1 (the first
    bad seq of each failing session on stderr)."""
    from server.db import make_engine
    from shop.adapters.sql.ledger import SqlLedger
    from shop.errors import NotFound

    engine = make_engine(settings.database_url)
    failed = 0
    try:
        ledger = SqlLedger(engine)
        ids = [session_id] if session_id is not None else await ledger.session_ids()
        for sid in ids:
            try:
                verdict = await ledger.verify(sid)
            except NotFound:
                print(f"error: no session {sid}", file=sys.stderr)
                return 2
            if verdict.ok:
                print(f"session {sid}: ok, {verdict.count} entries")
                continue
            failed += 1
            where = f"seq {verdict.bad_seq}" if verdict.bad_seq is not None else "orders"
            print(f"session {sid}: BAD at {where}: {verdict.reason}", file=sys.stderr)
    finally:
        await engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
