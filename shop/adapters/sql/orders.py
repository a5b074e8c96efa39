"""SqlOrders: orders, their outbox and the oversell backstop, in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import live_sessions, lots, offers, orders, outbox, utcnow
from shop.catalogue import LotFigures
from shop.errors import InvalidTransition, NotFound, SoldOut
from shop.gate import Hold, LotSeed, Sale
from shop.order_status import HELD_STATUSES, SOLD_STATUSES, OrderStatus
from shop.orders import Duplicate, Order

_ORDER_COLUMNS = [c.name for c in orders.columns]


def _order(row: Any) -> Order:
    data = dict(row._mapping)
    data["status"] = OrderStatus(data["status"])
    return Order(**data)


@dataclass(frozen=True, slots=True)
class SessionStats:
    sold_grams: int
    held_grams: int
    available_grams: int
    orders_count: int
    cancelled_count: int
    revenue: int
    lots: list[LotFigures]
    cooperatives: list[dict[str, int]]


class SqlOrders:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    # -- reads ----------------------------------------------------------------------
    async def get(self, order_id: str) -> Order:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.id == order_id))).one_or_none()
        if row is None:
            raise NotFound("no such order")
        return _order(row)

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]:
        ids = list(set(order_ids))
        if not ids:
            return {}
        async with self._engine.connect() as conn:
            result = await conn.execute(select(orders).where(orders.c.id.in_(ids)))
            return {r.id: _order(r) for r in result}

    async def find_by_key(self, session_id: int, key: str) -> Order | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(orders).where(
                        orders.c.session_id == session_id, orders.c.idempotency_key == key
                    )
                )
            ).one_or_none()
        return None if row is None else _order(row)

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
    def _insert_ignore(self) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(orders).on_conflict_do_nothing()
        if self._dialect == "sqlite":
            return sqlite.insert(orders).on_conflict_do_nothing()
        return insert(orders)

    async def insert_batch(
        self, rows: Sequence[dict[str, Any]]
    ) -> list[Order | Duplicate | BaseException]:
        """Insert new orders (and their outbox rows) in one transaction.

        Orders born sold (cash on delivery) move `lots.sold_grams` through the conditional
        backstop in the same transaction, so SQL never oversells even if the gate erred.
        Per item: the Order, a Duplicate (idempotency key already used), or SoldOut.
        """
        results: list[Order | Duplicate | BaseException | None] = [None] * len(rows)
        async with self._engine.begin() as conn:
            accepted = await self._backstop_batch(conn, rows, results)
            if accepted:
                inserted = {
                    r[0]
                    for r in await conn.execute(
                        self._insert_ignore().returning(orders.c.id), [rows[i] for i in accepted]
                    )
                }
                undo: dict[int, int] = defaultdict(int)
                new_rows: list[dict[str, Any]] = []
                for i in accepted:
                    row = rows[i]
                    if row["id"] in inserted:
                        # Retries of one request can share a batch: only the first is new.
                        inserted.discard(row["id"])
                        new_rows.append(row)
                        results[i] = Order(**{**row, "status": OrderStatus(row["status"])})
                    else:
                        results[i] = Duplicate(row["session_id"], row["idempotency_key"])
                        if row["status"] in SOLD_STATUSES:
                            undo[row["lot_id"]] += row["grams"]
                for lot_id, grams in undo.items():
                    await conn.execute(
                        update(lots)
                        .where(lots.c.id == lot_id)
                        .values(sold_grams=lots.c.sold_grams - grams)
                    )
                now = utcnow()
                if new_rows:
                    await conn.execute(
                        insert(outbox),
                        [
                            {
                                "kind": "order.sync",
                                "payload": {"order_id": r["id"], "lot_id": r["lot_id"]},
                                "created_at": now,
                            }
                            for r in new_rows
                        ],
                    )
        return [r if r is not None else RuntimeError("order not processed") for r in results]

    async def _backstop_batch(
        self,
        conn: AsyncConnection,
        rows: Sequence[dict[str, Any]],
        results: list[Order | Duplicate | BaseException | None],
    ) -> list[int]:
        by_lot: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if row["status"] in SOLD_STATUSES:
                by_lot[row["lot_id"]].append(i)
        refused: set[int] = set()
        for lot_id, indexes in by_lot.items():
            total = sum(rows[i]["grams"] for i in indexes)
            if await _add_sold(conn, lot_id, total):
                continue
            # Not all of them fit: decide order by order, in arrival order.
            for i in indexes:
                if not await _add_sold(conn, lot_id, rows[i]["grams"]):
                    refused.add(i)
                    results[i] = SoldOut(lot_id=lot_id)
        return [i for i in range(len(rows)) if i not in refused]

    # -- state changes --------------------------------------------------------------
    async def transition(
        self,
        order_id: str,
        allowed_from: Sequence[OrderStatus],
        target: OrderStatus,
        *,
        actor_id: int | None,
        action: str,
        extra: dict[str, Any] | None = None,
    ) -> tuple[Order, bool]:
        """Move an order to `target` if its status is in `allowed_from`.

        Returns (order, changed). Moving into a sold status passes the backstop (raises
        SoldOut when the lot has no room); moving out of one gives the grams back.
        """
        async with self._engine.begin() as conn:
            query = select(orders).where(orders.c.id == order_id)
            if self._dialect == "postgresql":
                query = query.with_for_update()
            row = (await conn.execute(query)).one_or_none()
            if row is None:
                raise NotFound("no such order")
            current = _order(row)
            if current.status not in allowed_from:
                return current, False
            was_sold = current.status.value in SOLD_STATUSES
            now_sold = target.value in SOLD_STATUSES
            if now_sold and not was_sold:
                if not await _add_sold(conn, current.lot_id, current.grams):
                    raise SoldOut(lot_id=current.lot_id)
            elif was_sold and not now_sold and target is not OrderStatus.REFUNDED:
                await _add_sold(conn, current.lot_id, -current.grams)
            values: dict[str, Any] = {
                "status": target.value,
                "updated_at": utcnow(),
                **(extra or {}),
            }
            result = await conn.execute(
                update(orders)
                .where(and_(orders.c.id == order_id, orders.c.status == current.status.value))
                .values(**values)
            )
            if result.rowcount != 1:
                # Raced with another change (SQLite has no row locks): the caller retries.
                raise InvalidTransition("the order changed meanwhile; try again")
            await conn.execute(
                insert(outbox).values(
                    kind="order.sync",
                    payload={"order_id": order_id, "lot_id": current.lot_id},
                    created_at=utcnow(),
                )
            )
            await audit.record(
                conn,
                actor_id,
                action,
                "order",
                order_id,
                {"from": current.status.value, "to": target.value},
            )
            updated = _order(
                (await conn.execute(select(orders).where(orders.c.id == order_id))).one()
            )
        return updated, True

    async def expire_due(self, now: datetime, limit: int = 500) -> list[str]:
        """Mark pending orders past their hold as expired (with outbox rows); their ids."""
        async with self._engine.begin() as conn:
            due = (
                await conn.execute(
                    select(orders.c.id, orders.c.lot_id)
                    .where(
                        orders.c.status == OrderStatus.PENDING_PAYMENT.value,
                        orders.c.hold_expires_at.is_not(None),
                        orders.c.hold_expires_at <= now,
                    )
                    .limit(limit)
                )
            ).all()
            if not due:
                return []
            ids = [r.id for r in due]
            await conn.execute(
                update(orders)
                .where(orders.c.id.in_(ids), orders.c.status == OrderStatus.PENDING_PAYMENT.value)
                .values(status=OrderStatus.EXPIRED.value, updated_at=now)
            )
            await conn.execute(
                insert(outbox),
                [
                    {
                        "kind": "order.sync",
                        "payload": {"order_id": r.id, "lot_id": r.lot_id},
                        "created_at": now,
                    }
                    for r in due
                ],
            )
        return ids

    # -- outbox ---------------------------------------------------------------------
    async def outbox_batch(
        self, older_than: datetime | None, limit: int = 500
    ) -> list[tuple[int, dict[str, Any]]]:
        query = select(outbox.c.id, outbox.c.payload).order_by(outbox.c.id).limit(limit)
        if older_than is not None:
            query = query.where(outbox.c.created_at <= older_than)
        async with self._engine.connect() as conn:
            return [(r.id, r.payload) for r in await conn.execute(query)]

    async def outbox_done(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._engine.begin() as conn:
                await conn.execute(delete(outbox).where(outbox.c.id.in_(list(ids))))

    async def outbox_after(
        self, after_id: int, limit: int = 500
    ) -> list[tuple[int, dict[str, Any]]]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(outbox.c.id, outbox.c.payload)
                .where(outbox.c.id > after_id)
                .order_by(outbox.c.id)
                .limit(limit)
            )
            return [(r.id, r.payload) for r in result]

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

    # -- reporting ------------------------------------------------------------------
    async def session_stats(self, session_id: int, figures: list[LotFigures]) -> SessionStats:
        async with self._engine.connect() as conn:
            sold_rows = (
                await conn.execute(
                    select(
                        lots.c.cooperative_id,
                        func.count(),
                        func.coalesce(func.sum(orders.c.grams), 0),
                        func.coalesce(func.sum(orders.c.total), 0),
                    )
                    .select_from(orders.join(lots, lots.c.id == orders.c.lot_id))
                    .where(orders.c.session_id == session_id, orders.c.status.in_(SOLD_STATUSES))
                    .group_by(lots.c.cooperative_id)
                    .order_by(lots.c.cooperative_id)
                )
            ).all()
            cancelled = (
                await conn.execute(
                    select(func.count()).where(
                        orders.c.session_id == session_id,
                        orders.c.status.in_(
                            [
                                OrderStatus.CANCELLED.value,
                                OrderStatus.REFUNDED.value,
                                OrderStatus.EXPIRED.value,
                            ]
                        ),
                    )
                )
            ).scalar_one()
            held_count = (
                await conn.execute(
                    select(func.count()).where(
                        orders.c.session_id == session_id, orders.c.status.in_(HELD_STATUSES)
                    )
                )
            ).scalar_one()
        return SessionStats(
            sold_grams=sum(int(f.sold_grams) for f in figures),
            held_grams=sum(int(f.held_grams) for f in figures),
            available_grams=sum(int(f.available_grams) for f in figures),
            orders_count=sum(int(r[1]) for r in sold_rows) + int(held_count),
            cancelled_count=int(cancelled),
            revenue=sum(int(r[3]) for r in sold_rows),
            lots=figures,
            cooperatives=[
                {
                    "cooperative_id": r[0],
                    "orders_count": int(r[1]),
                    "sold_grams": int(r[2]),
                    "revenue": int(r[3]),
                }
                for r in sold_rows
            ],
        )

    async def cooperative_orders(self, cooperative_id: int) -> list[tuple[Order, str, str, str]]:
        """A cooperative's orders with (session title, offer code, product), oldest first."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(orders, live_sessions.c.title, offers.c.code, lots.c.product)
                .select_from(
                    orders.join(lots, lots.c.id == orders.c.lot_id)
                    .join(offers, offers.c.id == orders.c.offer_id)
                    .join(live_sessions, live_sessions.c.id == orders.c.session_id)
                )
                .where(lots.c.cooperative_id == cooperative_id)
                .order_by(orders.c.created_at, orders.c.id)
            )
            out = []
            for r in result:
                data = {k: r._mapping[k] for k in _ORDER_COLUMNS}
                data["status"] = OrderStatus(data["status"])
                out.append((Order(**data), r.title, r.code, r.product))
            return out


async def _add_sold(conn: AsyncConnection, lot_id: int, grams: int) -> bool:
    """The backstop: move sold_grams by `grams` only if it stays within 0..stock."""
    result = await conn.execute(
        update(lots)
        .where(
            lots.c.id == lot_id,
            lots.c.sold_grams + grams <= lots.c.stock_grams,
            lots.c.sold_grams + grams >= 0,
        )
        .values(sold_grams=lots.c.sold_grams + grams)
    )
    return bool(result.rowcount == 1)
