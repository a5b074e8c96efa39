"""Shared fixtures: a fresh migrated database per test (SQLite and PostgreSQL), an app client."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests import services

# Fails any test whose aiortc peer would use aiortc's default (public) STUN server.
pytest_plugins = ("tests.ice_guard",)

_TEMPLATE = f"fl_tpl_{os.getpid()}"
TEST_HOLD_BUDGET = {"hold_budget_address_grams": 10**9, "hold_budget_device_grams": 10**9}


def _pg_admin_url() -> str:
    return f"postgresql://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/{services.PG_ADMIN_DB}"


async def _pg_exec(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url())
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    services.need("PostgreSQL", services.PG_HOST, services.PG_PORT)
    from sqlalchemy.ext.asyncio import create_async_engine

    from shop.adapters.sql.migrate import upgrade

    async def build() -> None:
        await _pg_exec(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"', f'CREATE DATABASE "{_TEMPLATE}"')
        engine = create_async_engine(services.pg_dsn(_TEMPLATE))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield _TEMPLATE
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A fresh, migrated, empty database: a SQLite file, or a PostgreSQL copy of the template."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/farmlive.db"
        return
    template = request.getfixturevalue("pg_template")
    name = f"fl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield services.pg_dsn(name)
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: os.PathLike[str]):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from server.settings import Settings

    return Settings(
        database_url=database_url,
        photos_dir=Path(tmp_path) / "photos",
        secret_key="test-secret-key-which-is-long-enough",
        # Tests play many buyers from one client (one address, one cookie jar): the hold
        # budget would refuse them. tests/server/test_hold_budget.py runs the defaults.
        **TEST_HOLD_BUDGET,
        _env_file=None,  # type: ignore[call-arg]
    )


@dataclass
class Api:
    """An httpx client on the in-process app, plus tokens for each demo role."""

    client: httpx.AsyncClient
    app: object
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def app_options() -> dict[str, object]:
    """Extra create_app arguments; a test module overrides it (e.g. a fake Stripe client)."""
    return {}


@pytest.fixture
async def api(settings, app_options) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    """The app with its lifespan running, staff accounts created, and a client bound to it.

    The first cooperative takes bank transfers (VietQR); the second does not.
    """
    from server.app import create_app
    from server.auth import hash_password
    from shop.accounts import Role

    app = create_app(settings, **app_options)
    async with app.router.lifespan_context(app):
        svc = app.state.services
        coop = await svc.catalogue.create_cooperative(
            None,
            name="HTX Thử nghiệm",
            province="Bắc Ninh",
            bank_bin="970436",
            bank_account="0011001234567",
            bank_account_name="HTX THU NGHIEM",
        )
        other = await svc.catalogue.create_cooperative(None, name="HTX Khác", province="Hà Nội")
        pw = hash_password("password-123")
        tokens: dict[str, str] = {}
        for role, email, coop_id in [
            ("admin", "admin@t.vn", None),
            ("host", "host@t.vn", None),
            ("host2", "host2@t.vn", None),
            ("coop", "coop@t.vn", coop.id),
            ("coop2", "coop2@t.vn", other.id),
            ("moderator", "mod@t.vn", None),
            ("moderator2", "mod2@t.vn", None),  # assigned to no session unless a test does
        ]:
            user = await svc.accounts.add(email, pw, Role(role.rstrip("2")), cooperative_id=coop_id)
            tokens[role] = svc.tokens.issue(user)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client=client, app=app, tokens=tokens)


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database (for tests that need PostgreSQL specifically)."""
    name = f"fl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield services.pg_dsn(name)
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(url, key prefix) on the shared Redis; every key under the prefix is deleted after."""
    url = services.redis_url()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield url, prefix

    async def cleanup() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        async for k in client.scan_iter(match=f"{prefix}:*", count=1000):
            await client.delete(k)
        await client.aclose()

    asyncio.run(cleanup())
