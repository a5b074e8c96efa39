"""The SQL engine for the configured database URL, tuned per backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # SQLite has one writer at a time and its busy handler waits by sleeping (up to
        # 100 ms a try), which collapses throughput when several connections write. One
        # connection makes statements queue in asyncio instead, in arrival order. (So no
        # code may ask for a second connection while it holds one: it would wait forever.)
        kwargs.update(connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=10)
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run during the group-commit writer; NORMAL sync is durable in WAL
    # against process crashes (an OS crash may lose the last commits, not corrupt).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
