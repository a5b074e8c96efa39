"""One transaction of sync SQL code, run in one go: the group commit's write path.

The group commit's transaction is seven statements (orders, the backstop, the outbox, the
ledger's head lock, entries and head, the buyer's messages). Awaited one by one through
SQLAlchemy's asyncio layer each costs far more than the statement: on SQLite every
execute is three hops to aiosqlite's thread and back, and the hops dominated. Measured
here for seven statements in a transaction: 7.1 ms of CPU awaited one by one, 5.5 ms
through `run_sync`, 2.0 ms run on aiosqlite's own thread in one hop.

So the write is plain sync code over a `Connection`, and `SyncTransactions.run` chooses
how to run it:
- SQLite (aiosqlite): the pool's one connection is checked out as usual, then the whole
  function runs on aiosqlite's worker thread (the thread that owns the sqlite3 connection)
  through a sync SQLAlchemy engine over that very connection, inside BEGIN ... COMMIT.
  Same dialect family (aiosqlite's is pysqlite's), so values bind and read alike.
- Any other driver (asyncpg): `AsyncConnection.run_sync` in a transaction of the async
  engine, SQLAlchemy's own bridge for sync code.
aiosqlite's `_execute` and `_conn` are internals: tests/shop/test_sync_tx.py pins them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

T = TypeVar("T")


class SyncTransactions:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._in_thread = engine.dialect.driver == "aiosqlite"
        # The sync engine over the sqlite3 connection the pool holds now; a new one when
        # the pool replaces that connection (after an error, or after dispose).
        self._bridge: tuple[sqlite3.Connection, Engine] | None = None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(conn, *args)` inside one transaction, committed if it returns."""
        if not self._in_thread:
            async with self._engine.begin() as conn:
                return await conn.run_sync(work, *args)
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            aio = raw.driver_connection  # aiosqlite.Connection
            if aio is None:  # pragma: no cover - a checked-out connection always has one
                raise RuntimeError("no SQLite connection")

            def in_thread() -> T:
                with self._sync_engine(aio._conn).connect() as sync, sync.begin():
                    return work(sync, *args)

            result: T = await aio._execute(in_thread)
            return result

    def _sync_engine(self, sqlite_conn: sqlite3.Connection) -> Engine:
        """Runs on aiosqlite's thread, the only one that touches `sqlite_conn`."""
        if self._bridge is None or self._bridge[0] is not sqlite_conn:
            engine = create_engine(
                "sqlite://",
                creator=lambda: sqlite_conn,
                poolclass=StaticPool,
                # The transaction ends by its own commit or rollback; the async pool
                # resets the connection when it takes it back.
                pool_reset_on_return=None,
            )
            self._bridge = (sqlite_conn, engine)
        return self._bridge[1]
