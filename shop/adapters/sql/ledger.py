"""SqlLedger: the public ledger's chains in SQL, appended inside the order change's transaction.

Appending locks the session's head row (an upsert that touches it: on PostgreSQL the
row lock is held until the transaction ends), so two app instances take seqs one after
the other and a chain never forks or skips; SQLite has one writer at a time anyway.
Heads are locked in session order, so a batch spanning sessions cannot deadlock another.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql.ledger_verify import verify_session
from shop.adapters.sql.recorder import TransitionRecorder
from shop.adapters.sql.tables import ledger_entries, ledger_heads, live_sessions, orders
from shop.errors import NotFound
from shop.ledger import GENESIS, Entry, Fact, Fold, LedgerEvent, chain, format_ts
from shop.ledger_port import Head, Verdict
from shop.order_record import TransitionRecord
from shop.order_status import HELD_STATUSES

_ENTRY_COLUMNS = [c for c in ledger_entries.columns if c.name != "session_id"]

# Built once: every placing batch runs these, and building a statement (and its cache
# key) cost more than running it.
_ADD_ENTRIES = insert(ledger_entries)
_SET_HEAD = (
    update(ledger_heads)
    .where(ledger_heads.c.session_id == bindparam("sid"))
    .values(count=bindparam("new_count"), head_hash=bindparam("new_hash"))
)


def _head_lock(ins: Any) -> Any:
    """An upsert whose conflict branch rewrites `count` with itself: it exists to take the
    row lock (PostgreSQL holds it to the end of the transaction) and return the row."""
    return (
        ins.values(session_id=bindparam("sid"), count=0, head_hash=GENESIS)
        .on_conflict_do_update(
            index_elements=[ledger_heads.c.session_id], set_={"count": ledger_heads.c.count}
        )
        .returning(ledger_heads.c.count, ledger_heads.c.head_hash)
    )


_LOCK_HEAD = {
    "postgresql": _head_lock(postgresql.insert(ledger_heads)),
    "sqlite": _head_lock(sqlite.insert(ledger_heads)),
}


def entry_of(row: Any) -> Entry:
    return Entry.from_mapping(row._mapping)


def append(conn: Connection, facts: Sequence[Fact]) -> list[Entry]:
    """Chain `facts` onto their sessions' ledgers inside the caller's transaction.

    Facts of one session keep their order. Nothing is committed here: the entries land
    with the order change they record, or not at all. Sync, as every recorder's work is
    (shop/adapters/sql/recorder.py); async code calls it through `run_sync`.
    """
    if not facts:
        return []
    by_session: dict[int, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_session[fact.session_id].append(fact)
    dialect = conn.dialect.name
    out: list[Entry] = []
    for session_id in sorted(by_session):
        count, prev = _lock_head(conn, dialect, session_id)
        rows: list[dict[str, Any]] = []
        for fact in by_session[session_id]:
            count += 1
            entry = chain(fact, count, prev)
            prev = entry.hash
            out.append(entry)
            rows.append({"session_id": session_id, **entry.as_dict()})
        conn.execute(_ADD_ENTRIES, rows)
        conn.execute(_SET_HEAD, {"sid": session_id, "new_count": count, "new_hash": prev})
    return out


def _lock_head(conn: Connection, dialect: str, session_id: int) -> tuple[int, str]:
    """The session's (count, head hash), its head row created if need be and locked."""
    stmt = _LOCK_HEAD.get(dialect)
    if stmt is None:
        raise RuntimeError(f"the ledger has no head lock for {dialect}")
    row = conn.execute(stmt, {"sid": session_id}).one()
    return int(row._mapping["count"]), str(row.head_hash)


class LedgerRecorder:
    """The TransitionRecorder that writes the public ledger: one entry per committed move,
    in the move's own transaction (shop/adapters/sql/recorder.py). `then` hears the same
    records afterwards (another recorder a deployment or a test adds)."""

    def __init__(self, then: TransitionRecorder | None = None) -> None:
        self._then = then

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        append(conn, [fact_of(r) for r in records])
        if self._then is not None:
            self._then.record(conn, records)


def fact_of(record: TransitionRecord) -> Fact:
    return Fact(
        session_id=record.session_id,
        event=LedgerEvent(record.event),
        order_code=record.code,
        offer_id=record.offer_id,
        lot_id=record.lot_id,
        cooperative_id=record.cooperative_id,
        grams=record.grams,
        amount=record.amount,
        province_code=record.province_code,
        ward_code=record.ward_code,
        ts=format_ts(record.ts),
    )


def _head(session_id: int, row: Any) -> Head:
    if row is None:
        return Head(session_id, 0, GENESIS)
    return Head(
        session_id,
        int(row._mapping["count"]),
        str(row.head_hash),
        row.sealed_count,
        row.sealed_hash,
        row.sealed_at,
    )


class SqlLedger:
    """Reads of the ledger (pages, heads, folds), sealing, and verification."""

    def __init__(self, engine: AsyncEngine, *, cached_sessions: int = 64) -> None:
        self._engine = engine
        # Entries are append-only, so a session's fold is kept and only new entries are
        # folded on the next read. Bounded: the least recently read sessions drop out.
        self._folds: OrderedDict[int, Fold] = OrderedDict()
        self._fold_locks: dict[int, asyncio.Lock] = {}
        self._cached = cached_sessions

    async def _require_session(self, conn: AsyncConnection, session_id: int) -> None:
        found = (
            await conn.execute(select(live_sessions.c.id).where(live_sessions.c.id == session_id))
        ).first()
        if found is None:
            raise NotFound(f"no session {session_id}")

    async def page(self, session_id: int, after: int, limit: int) -> list[Entry]:
        async with self._engine.connect() as conn:
            await self._require_session(conn, session_id)
            result = await conn.execute(
                select(*_ENTRY_COLUMNS)
                .where(ledger_entries.c.session_id == session_id, ledger_entries.c.seq > after)
                .order_by(ledger_entries.c.seq)
                .limit(limit)
            )
            return [entry_of(r) for r in result]

    async def head(self, session_id: int) -> Head:
        async with self._engine.connect() as conn:
            await self._require_session(conn, session_id)
            row = (
                await conn.execute(
                    select(ledger_heads).where(ledger_heads.c.session_id == session_id)
                )
            ).first()
        return _head(session_id, row)

    async def fold(self, session_id: int) -> Fold:
        lock = self._fold_locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            current = self._folds.pop(session_id, None) or Fold()
            async with self._engine.connect() as conn:
                await self._require_session(conn, session_id)
                while True:
                    result = await conn.execute(
                        select(*_ENTRY_COLUMNS)
                        .where(
                            ledger_entries.c.session_id == session_id,
                            ledger_entries.c.seq > current.last_seq,
                        )
                        .order_by(ledger_entries.c.seq)
                        .limit(5000)
                    )
                    batch = [entry_of(r) for r in result]
                    for entry in batch:
                        current.add(entry)
                    if len(batch) < 5000:
                        break
            self._folds[session_id] = current
            while len(self._folds) > self._cached:
                self._folds.popitem(last=False)
            return current

    async def seal(self, session_id: int, now: datetime) -> Head:
        """Seal the session's head as it is now (once: a later call changes nothing)."""
        async with self._engine.begin() as conn:
            await self._require_session(conn, session_id)
            await conn.run_sync(_lock_head, conn.dialect.name, session_id)
            await conn.execute(
                update(ledger_heads)
                .where(ledger_heads.c.session_id == session_id, ledger_heads.c.sealed_at.is_(None))
                .values(
                    sealed_count=ledger_heads.c.count,
                    sealed_hash=ledger_heads.c.head_hash,
                    sealed_at=now,
                )
            )
            row = (
                await conn.execute(
                    select(ledger_heads).where(ledger_heads.c.session_id == session_id)
                )
            ).first()
        return _head(session_id, row)

    async def held_grams(self, session_id: int) -> int:
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.coalesce(func.sum(orders.c.grams), 0)).where(
                            orders.c.session_id == session_id,
                            orders.c.status.in_(HELD_STATUSES),
                        )
                    )
                ).scalar_one()
            )

    async def verify(self, session_id: int) -> Verdict:
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for the entries and the orders, even while orders move.
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            await self._require_session(conn, session_id)
            return await verify_session(conn, session_id)

    async def session_ids(self) -> list[int]:
        async with self._engine.connect() as conn:
            result = await conn.execute(select(live_sessions.c.id).order_by(live_sessions.c.id))
            return [int(r[0]) for r in result]
