"""SqlOrders: orders, their outbox and the oversell backstop, in SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import (
    live_sessions,
    lots,
    offers,
    orders,
    outbox,
    payment_events,
    utcnow,
)
from shop.catalogue import LotFigures
from shop.errors import InvalidTransition, NotFound, SoldOut
from shop.gate import Hold, LotSeed, Sale
from shop.order_status import HELD_STATUSES, SOLD_STATUSES, OrderStatus, can_move
from shop.orders import Duplicate, Order
from shop.payments.port import Applied

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

    async def _locked(self, conn: AsyncConnection, order_id: str) -> Order | None:
        """The order, row-locked until the transaction ends (PostgreSQL; SQLite has one
        writer anyway and the callers' updates are conditional on the status read)."""
        query = select(orders).where(orders.c.id == order_id)
        if self._dialect == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).one_or_none()
        return None if row is None else _order(row)

    # -- the hot path: one transaction for a batch of new orders --------------------
    def _insert_ignore(self, table: Table = orders) -> Any:
        """INSERT that skips rows whose key is already there (both dialects say it alike)."""
        if self._dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self._dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return insert(table)

    async def insert_batch(
        self, rows: Sequence[dict[str, Any]], done_outbox: Sequence[int] = ()
    ) -> tuple[list[Order | Duplicate | BaseException], list[int]]:
        """Insert new orders (and their outbox rows) in one transaction.

        Rows go in first (a used idempotency key is skipped and reported as Duplicate, so
        a retry never reaches the backstop); then orders born sold (cash on delivery) move
        `lots.sold_grams` through the conditional backstop, and any it refuses are taken
        out again before the commit. SQL never oversells, even if the gate erred.
        Per item: the Order, a Duplicate, or SoldOut; and the new outbox rows' ids.
        `done_outbox` rows (applied since the last batch) are deleted in the same commit.
        """
        results: list[Order | Duplicate | BaseException] = []
        outbox_ids: list[int] = []
        async with self._engine.begin() as conn:
            if done_outbox:
                await conn.execute(delete(outbox).where(outbox.c.id.in_(list(done_outbox))))
            inserted = {
                r[0] for r in await conn.execute(self._insert_ignore().returning(orders.c.id), rows)
            }
            new: list[int] = []
            for i, row in enumerate(rows):
                if row["id"] in inserted:
                    # Retries of one request can share a batch: only the first is new.
                    inserted.discard(row["id"])
                    new.append(i)
                    results.append(Order(**{**row, "status": OrderStatus(row["status"])}))
                else:
                    results.append(Duplicate(row["session_id"], row["idempotency_key"]))
            refused = await self._backstop(conn, [rows[i] for i in new])
            if refused:
                await conn.execute(delete(orders).where(orders.c.id.in_(refused)))
                for i in new:
                    if rows[i]["id"] in refused:
                        results[i] = SoldOut(lot_id=rows[i]["lot_id"])
            accepted = [rows[i] for i in new if rows[i]["id"] not in refused]
            if accepted:
                now = utcnow()
                outbox_ids = [
                    r[0]
                    for r in await conn.execute(
                        insert(outbox).returning(outbox.c.id),
                        [
                            {
                                "kind": "order.sync",
                                "payload": {"order_id": r["id"], "lot_id": r["lot_id"]},
                                "created_at": now,
                            }
                            for r in accepted
                        ],
                    )
                ]
        return results, outbox_ids

    async def _backstop(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Add the sold-at-birth rows' grams to their lots; the ids that did not fit."""
        by_lot: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row["status"] in SOLD_STATUSES:
                by_lot[row["lot_id"]].append(row)
        refused: set[str] = set()
        for lot_id, lot_rows in by_lot.items():
            if await _add_sold(conn, lot_id, sum(r["grams"] for r in lot_rows)):
                continue
            # Not all of them fit: decide order by order, in arrival order.
            for row in lot_rows:
                if not await _add_sold(conn, lot_id, row["grams"]):
                    refused.add(row["id"])
        return refused

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
            current = await self._locked(conn, order_id)
            if current is None:
                raise NotFound("no such order")
            if current.status not in allowed_from:
                return current, False
            was_sold = current.status.value in SOLD_STATUSES
            now_sold = target.value in SOLD_STATUSES
            if now_sold and not was_sold:
                if not await _add_sold(conn, current.lot_id, current.grams):
                    raise SoldOut(lot_id=current.lot_id)
            elif was_sold and target is OrderStatus.REFUNDED:
                await _write_off(conn, current.lot_id, current.grams)
            elif was_sold and not now_sold:
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

    # -- payments: provider events, deduplicated in the same transaction -------------
    async def apply_payment_event(
        self,
        event_id: str,
        provider: str,
        event_type: str,
        order_id: str | None,
        allowed_from: Sequence[OrderStatus],
        target: OrderStatus | None,
        *,
        extra: dict[str, Any] | None = None,
        flags: dict[str, Any] | None = None,
        money_in: bool = False,
        force_refund: bool = False,
        action: str = "payment.event",
    ) -> Applied:
        """Record a provider event and apply it to its order, in one transaction.

        A second delivery of the same event id changes nothing (`duplicate`). The order
        moves to `target` if its status is in `allowed_from` (through the backstop when
        that sells it; a refund writes the grams off the lot, as the gate does). `flags`
        are merged into the order's flags either way. With `money_in`, money that cannot
        stay (sold out, `force_refund`, or a cancelled order) cancels the order if it is
        still open and queues a refund (`payment_events` row `refund:<order id>`).
        """
        now = utcnow()
        async with self._engine.begin() as conn:
            # The dedup row first: on SQLite it takes the write lock before anything is
            # read; on PostgreSQL a concurrent copy of the event waits here for ours.
            fresh = (
                await conn.execute(
                    self._insert_ignore(payment_events)
                    .values(
                        id=event_id,
                        provider=provider,
                        type=event_type,
                        order_id=order_id,
                        received_at=now,
                    )
                    .returning(payment_events.c.id)
                )
            ).first()
            if fresh is None:
                return Applied(None, changed=False, duplicate=True)
            if order_id is None:
                return Applied(None, changed=False)
            current = await self._locked(conn, order_id)
            if current is None:
                return Applied(None, changed=False)
            new_status: OrderStatus | None = None
            refund_due = False
            if (
                target is not None
                and not force_refund
                and current.status in allowed_from
                and can_move(current.status, target)
            ):
                was_sold = current.status.value in SOLD_STATUSES
                now_sold = target.value in SOLD_STATUSES
                if now_sold and not was_sold:
                    if await _add_sold(conn, current.lot_id, current.grams):
                        new_status = target
                    elif money_in:
                        refund_due = True
                    else:
                        raise SoldOut(lot_id=current.lot_id)
                elif was_sold and target is OrderStatus.REFUNDED:
                    # Refunded goods are not restocked: the grams leave the lot, as the
                    # gate's write_off does, so SQL and the gate keep agreeing.
                    await _write_off(conn, current.lot_id, current.grams)
                    new_status = target
                elif was_sold and not now_sold:
                    await _add_sold(conn, current.lot_id, -current.grams)
                    new_status = target
                else:
                    new_status = target
            elif money_in and (force_refund or current.status is OrderStatus.CANCELLED):
                refund_due = True
            merged = dict(current.flags or {})
            merged.update(flags or {})
            values: dict[str, Any] = {}
            if refund_due:
                if current.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
                    new_status = OrderStatus.CANCELLED
                merged["refund"] = {"state": "due", "event": event_id}
                await conn.execute(
                    self._insert_ignore(payment_events).values(
                        id=f"refund:{order_id}",
                        provider=provider,
                        type="refund.due",
                        order_id=order_id,
                        received_at=now,
                    )
                )
            if new_status is not None:
                values["status"] = new_status.value
            if new_status is not None or refund_due:
                values.update(extra or {})
            if merged != (current.flags or {}):
                values["flags"] = merged
            if not values:
                return Applied(current, changed=False)
            await conn.execute(
                update(orders)
                .where(orders.c.id == order_id, orders.c.status == current.status.value)
                .values(**values, updated_at=now)
            )
            if new_status is not None:
                await conn.execute(
                    insert(outbox).values(
                        kind="order.sync",
                        payload={"order_id": order_id, "lot_id": current.lot_id},
                        created_at=now,
                    )
                )
            await audit.record(
                conn,
                None,
                action,
                "order",
                order_id,
                {
                    "from": current.status.value,
                    "to": (new_status or current.status).value,
                    "event": event_id,
                    "provider": provider,
                    "type": event_type,
                },
            )
            updated = _order(
                (await conn.execute(select(orders).where(orders.c.id == order_id))).one()
            )
        return Applied(updated, changed=new_status is not None, refund_due=refund_due)

    async def record_payment_start(
        self, order_id: str, payment_ref: str, flags: dict[str, Any]
    ) -> Order:
        """Store what a provider returned when the payment started (first writer wins)."""
        async with self._engine.begin() as conn:
            # Write first (SQLite takes its lock here); the condition keeps the first start.
            await conn.execute(
                update(orders)
                .where(orders.c.id == order_id, orders.c.payment_ref.is_(None))
                .values(payment_ref=payment_ref, updated_at=utcnow())
            )
            current = await self._locked(conn, order_id)
            if current is None:
                raise NotFound("no such order")
            if current.payment_ref == payment_ref:
                merged = {**(current.flags or {}), **flags}
                if merged != current.flags:
                    await conn.execute(
                        update(orders).where(orders.c.id == order_id).values(flags=merged)
                    )
                    current = _order(
                        (await conn.execute(select(orders).where(orders.c.id == order_id))).one()
                    )
        return current

    async def find_by_payment_ref(self, payment_ref: str) -> Order | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(orders).where(orders.c.payment_ref == payment_ref).limit(1)
                )
            ).one_or_none()
        return None if row is None else _order(row)

    async def checkouts_due(
        self, method: str, created_before: datetime, limit: int = 100
    ) -> list[Order]:
        """Pending orders of a payment method placed before `created_before`, oldest first."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(orders)
                .where(
                    orders.c.status == OrderStatus.PENDING_PAYMENT.value,
                    orders.c.payment_method == method,
                    orders.c.created_at <= created_before,
                )
                .order_by(orders.c.created_at)
                .limit(limit)
            )
            return [_order(r) for r in result]

    async def refunds_due(self, limit: int = 100) -> list[str]:
        """Orders whose refund is queued but not yet accepted by the provider."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(payment_events.c.order_id)
                .where(payment_events.c.type == "refund.due")
                .order_by(payment_events.c.received_at)
                .limit(limit)
            )
            return [r[0] for r in result if r[0] is not None]

    async def refund_sent(self, order_id: str, refund_id: str) -> None:
        """The provider took the refund: it is no longer due."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(payment_events)
                .where(payment_events.c.id == f"refund:{order_id}")
                .values(type="refund.sent")
            )
            row = (
                await conn.execute(select(orders.c.flags).where(orders.c.id == order_id))
            ).one_or_none()
            if row is not None:
                flags = dict(row[0] or {})
                flags["refund"] = {**(flags.get("refund") or {}), "state": "sent", "id": refund_id}
                await conn.execute(
                    update(orders).where(orders.c.id == order_id).values(flags=flags)
                )


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


async def _write_off(conn: AsyncConnection, lot_id: int, grams: int) -> None:
    """Refunded goods are not restocked: the grams leave the lot (stock and sold alike),
    as the gate's write_off does, so SQL and the gate keep agreeing."""
    await conn.execute(
        update(lots)
        .where(lots.c.id == lot_id)
        .values(stock_grams=lots.c.stock_grams - grams, sold_grams=lots.c.sold_grams - grams)
    )
