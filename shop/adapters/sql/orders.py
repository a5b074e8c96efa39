"""SqlOrders: the order store (orders, their outbox, the oversell backstop) in SQL.

Payment events live in payment_ledger.py and reports in order_reports.py; every status
change goes through the one transition path in transitions.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.order_rows import add_outbox, add_sold, order_of, outbox_row, row_of
from shop.adapters.sql.recorder import TransitionRecorder
from shop.adapters.sql.sync_tx import SyncTransactions
from shop.adapters.sql.tables import lots, orders, outbox, utcnow
from shop.adapters.sql.transitions import SqlTransitions, record_of
from shop.errors import NotFound, OrderChangedMeanwhile, SoldOut
from shop.gate import Hold, LotSeed, Sale
from shop.lifecycle import HELD_STATUSES, SOLD_STATUSES, Event, OrderStatus, placing
from shop.order_code import new_code
from shop.orders import Duplicate, Order, OutboxEntry, Transitioned

CODE_ATTEMPTS = 4


def insert_ignore(dialect: str, table: Table = orders) -> Any:
    """INSERT that skips rows whose key is already there (both dialects say it alike)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


class SqlOrders:
    def __init__(self, engine: AsyncEngine, recorder: TransitionRecorder | None = None) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self.transitions = SqlTransitions(self._dialect, recorder)
        self._writes = SyncTransactions(engine)  # the group commit's transaction in one go
        self._add_orders = insert_ignore(self._dialect).returning(orders.c.id)  # built once
        self._coop_of: dict[int, int] = {}  # lot -> cooperative, for the records

    # -- reads ----------------------------------------------------------------------
    async def get(self, order_id: str) -> Order:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.id == order_id))).one_or_none()
        if row is None:
            raise NotFound("no such order")
        return order_of(row)

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        ids = list(set(order_ids))
        if not ids:
            return {}
        async with self._engine.connect() as conn:
            result = await conn.execute(select(orders).where(orders.c.id.in_(ids)))
            return {r.id: order_of(r) for r in result}

    async def find_by_key(self, session_id: int, key: str) -> Order | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(orders).where(
                        orders.c.session_id == session_id, orders.c.idempotency_key == key
                    )
                )
            ).one_or_none()
        return None if row is None else order_of(row)

    async def buyer_grams(self, session_id: int, lot_id: int, phone: str) -> int:
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.coalesce(func.sum(orders.c.grams), 0)).where(
                            orders.c.session_id == session_id,
                            orders.c.lot_id == lot_id,
                            orders.c.buyer_phone == phone,
                            orders.c.status.in_(SOLD_STATUSES + HELD_STATUSES),
                        )
                    )
                ).scalar_one()
            )

    # -- the hot path: one transaction for a batch of new orders --------------------
    async def insert_batch(
        self, batch: Sequence[Order], done_outbox: Sequence[int] = ()
    ) -> tuple[list[Order | Duplicate | BaseException], list[int]]:
        """Insert new orders (and their outbox rows) in one transaction.

        Rows go in first (a used idempotency key is skipped and reported as Duplicate, so
        a retry never reaches the backstop); then orders born sold (cash on delivery) move
        `lots.sold_grams` through the conditional backstop, and any it refuses are taken
        out again before the commit. SQL never oversells, even if the gate erred. The
        recorder hears the accepted ones (`placed`) in the same transaction.
        Per item: the Order, a Duplicate, or SoldOut; and the new outbox rows' ids.
        `done_outbox` rows (applied since the last batch) are deleted in the same commit.
        The transaction is sync code run in one go (shop/adapters/sql/sync_tx.py).
        """
        return await self._writes.run(self._insert_batch, list(batch), list(done_outbox))

    def _insert_batch(
        self, conn: Connection, batch: list[Order], done_outbox: list[int]
    ) -> tuple[list[Order | Duplicate | BaseException], list[int]]:
        results: list[Order | Duplicate | BaseException] = []
        rows = [row_of(o) for o in batch]  # codes may be redrawn below
        if done_outbox:
            conn.execute(delete(outbox).where(outbox.c.id.in_(done_outbox)))
        inserted = self._insert_rows(conn, rows)
        new: list[int] = []
        for i, row in enumerate(rows):
            if row["id"] in inserted:
                # Retries of one request can share a batch: only the first is new.
                inserted.discard(row["id"])
                new.append(i)
                results.append(replace(batch[i], code=row["code"]))
            else:
                results.append(Duplicate(row["session_id"], row["idempotency_key"]))
        refused = self._backstop(conn, [rows[i] for i in new])
        if refused:
            conn.execute(delete(orders).where(orders.c.id.in_(refused)))
            for i in new:
                if rows[i]["id"] in refused:
                    results[i] = SoldOut(lot_id=rows[i]["lot_id"])
        accepted = [r for r in results if isinstance(r, Order)]
        now = utcnow()
        outbox_ids = add_outbox(conn, [outbox_row(o.id, o.lot_id, now) for o in accepted])
        self._record_placed(conn, accepted)
        return results, outbox_ids

    def _insert_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
        """Insert, skipping used keys; a row refused for its code alone (another order has
        it) is retried with a fresh code. The ids inserted."""
        inserted: set[str] = set()
        todo = rows
        for _ in range(CODE_ATTEMPTS):
            inserted |= {r[0] for r in conn.execute(self._add_orders, todo)}
            left = [r for r in todo if r["id"] not in inserted]
            if not left:
                break
            taken = self._used_keys(conn, left)
            todo = [r for r in left if (r["session_id"], r["idempotency_key"]) not in taken]
            if not todo:
                break
            for row in todo:
                row["code"] = new_code()
        return inserted

    def _used_keys(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> set[tuple[int, str]]:
        result = conn.execute(
            select(orders.c.session_id, orders.c.idempotency_key).where(
                orders.c.idempotency_key.in_({r["idempotency_key"] for r in rows})
            )
        )
        return {(int(r[0]), r[1]) for r in result}

    def _backstop(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Add the sold-at-birth rows' grams to their lots; the ids that did not fit."""
        by_lot: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row["status"] in SOLD_STATUSES:
                by_lot[row["lot_id"]].append(row)
        refused: set[str] = set()
        for lot_id, lot_rows in by_lot.items():
            if add_sold(conn, lot_id, sum(r["grams"] for r in lot_rows)):
                continue
            # Not all of them fit: decide order by order, in arrival order.
            for row in lot_rows:
                if not add_sold(conn, lot_id, row["grams"]):
                    refused.add(row["id"])
        return refused

    def _record_placed(self, conn: Connection, placed: Sequence[Order]) -> None:
        missing = {o.lot_id for o in placed} - self._coop_of.keys()
        if missing:
            self._coop_of.update(self.transitions.cooperatives(conn, missing))
        records = [
            record_of(
                o,
                self._coop_of[o.lot_id],
                None,
                placing(o.status is OrderStatus.PLACED),
                o.created_at,
            )
            for o in placed
        ]
        self.transitions.record(conn, records)

    # -- state changes --------------------------------------------------------------
    async def transition(
        self, order_id: str, event: Event, *, actor_id: int | None, action: str
    ) -> Transitioned:
        """Move an order as the lifecycle says for `event` (staff changes).

        Raises SoldOut when a sale does not fit the lot, OrderChangedMeanwhile when the
        row changed under us (the caller retries).
        """
        async with self._engine.begin() as conn:
            locked = await self.transitions.lock(conn, order_id)
            if locked is None:
                raise NotFound("no such order")
            return await self.transitions.move(
                conn, locked, event, now=utcnow(), actor_id=actor_id, action=action
            )

    async def expire_due(self, now: datetime, limit: int = 500) -> list[str]:
        """Expire pending orders past their hold (one transaction); their ids."""
        query = (
            select(orders.c.id)
            .where(
                orders.c.status == OrderStatus.PENDING_PAYMENT.value,
                orders.c.hold_expires_at.is_not(None),
                orders.c.hold_expires_at <= now,
            )
            .order_by(orders.c.hold_expires_at)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            # Lock the whole sweep up front, skipping orders a payment or a staff change
            # holds right now: the sweep then never waits for an order lock while it
            # holds a session's ledger head (each move records), so it cannot deadlock.
            query = query.with_for_update(skip_locked=True)
        async with self._engine.begin() as conn:
            due = (await conn.execute(query)).all()
            expired: list[str] = []
            for (order_id,) in due:
                locked = await self.transitions.lock(conn, order_id)
                if locked is None:
                    continue
                try:
                    moved = await self.transitions.move(
                        conn, locked, Event.EXPIRE, now=now, action="order.expire"
                    )
                except OrderChangedMeanwhile:
                    continue  # paid or cancelled just now: nothing to expire
                if moved.changed:
                    expired.append(order_id)
        return expired

    # -- outbox ---------------------------------------------------------------------
    async def outbox_batch(
        self, older_than: datetime | None, limit: int = 500
    ) -> list[OutboxEntry]:
        query = select(outbox.c.id, outbox.c.payload).order_by(outbox.c.id).limit(limit)
        if older_than is not None:
            query = query.where(outbox.c.created_at <= older_than)
        async with self._engine.connect() as conn:
            return [
                OutboxEntry(r.id, r.payload["order_id"], int(r.payload["lot_id"]))
                for r in await conn.execute(query)
            ]

    async def outbox_done(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._engine.begin() as conn:
                await conn.execute(delete(outbox).where(outbox.c.id.in_(list(ids))))

    # -- rebuilding the gate --------------------------------------------------------
    async def lot_ids(self) -> list[int]:
        async with self._engine.connect() as conn:
            return [r[0] for r in await conn.execute(select(lots.c.id).order_by(lots.c.id))]

    async def lot_seed(self, lot_id: int, now: datetime) -> LotSeed:
        async with self._engine.connect() as conn:
            stock = (
                await conn.execute(select(lots.c.stock_grams).where(lots.c.id == lot_id))
            ).scalar_one_or_none()
            if stock is None:
                raise NotFound(f"no lot {lot_id}")
            result = await conn.execute(
                select(
                    orders.c.id,
                    orders.c.grams,
                    orders.c.buyer_phone,
                    orders.c.status,
                    orders.c.hold_expires_at,
                ).where(
                    orders.c.lot_id == lot_id, orders.c.status.in_(SOLD_STATUSES + HELD_STATUSES)
                )
            )
            holds: list[Hold] = []
            sales: list[Sale] = []
            for r in result:
                if r.status in SOLD_STATUSES:
                    sales.append(Sale(r.id, int(r.grams), r.buyer_phone))
                elif r.hold_expires_at is None or r.hold_expires_at > now:
                    expires = None if r.hold_expires_at is None else r.hold_expires_at.timestamp()
                    holds.append(Hold(r.id, int(r.grams), r.buyer_phone, expires))
        return LotSeed(lot_id=lot_id, stock_grams=int(stock), holds=holds, sales=sales)
