"""SyncTransactions: the group commit's sync SQL in one transaction, in one go.

On SQLite it runs on aiosqlite's own thread through aiosqlite internals (`_execute`,
`_conn`): pinned here, so an aiosqlite upgrade that moves them fails this file first.
"""

from __future__ import annotations

import sqlite3
import threading

import aiosqlite
import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import make_engine
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.sync_tx import SyncTransactions
from shop.adapters.sql.tables import cooperatives, utcnow


@pytest.fixture
async def engine(database_url: str) -> AsyncEngine:  # type: ignore[misc]
    engine = make_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


def add_coop(conn: Connection, name: str, fail: bool = False) -> tuple[int, int]:
    conn.execute(insert(cooperatives).values(name=name, province="Bắc Giang", created_at=utcnow()))
    if fail:
        raise RuntimeError("refused half-way")
    return threading.get_ident(), int(
        conn.execute(select(func.count()).select_from(cooperatives)).scalar_one()
    )


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(cooperatives))).scalar_one()
        )


async def test_commits_what_returns_and_rolls_back_what_raises(engine: AsyncEngine) -> None:
    tx = SyncTransactions(engine)
    before = await count(engine)
    thread, seen = await tx.run(add_coop, "HTX Một")
    assert seen == before + 1 and await count(engine) == before + 1
    with pytest.raises(RuntimeError, match="half-way"):
        await tx.run(add_coop, "HTX Hai", True)
    assert await count(engine) == before + 1  # the failed one left nothing
    await tx.run(add_coop, "HTX Ba")  # and the connection is usable after it
    assert await count(engine) == before + 2
    if engine.dialect.driver == "aiosqlite":
        assert thread != threading.get_ident()  # on aiosqlite's thread, not the loop's


async def test_a_replaced_sqlite_connection_gets_a_new_bridge(tmp_path: object) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/bridge.db")  # the bridge is SQLite's
    await upgrade(engine)
    tx = SyncTransactions(engine)
    await tx.run(add_coop, "HTX Một")
    await engine.dispose()  # the pool closes its connection; the next checkout is new
    await tx.run(add_coop, "HTX Hai")
    assert await count(engine) == 2
    await engine.dispose()


async def test_aiosqlite_internals_the_bridge_uses(tmp_path: object) -> None:
    async with aiosqlite.connect(f"{tmp_path}/pin.db") as conn:
        assert isinstance(conn._conn, sqlite3.Connection)
        caller = threading.get_ident()
        first = await conn._execute(threading.get_ident)
        second = await conn._execute(threading.get_ident)
        assert first == second != caller  # one worker thread owns the connection
        assert await conn._execute(lambda: conn._conn.execute("select 41 + 1").fetchone()) == (42,)
