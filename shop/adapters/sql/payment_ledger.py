"""SqlPaymentLedger: provider events applied to orders, deduplicated in the same transaction.

The order's move goes through the one transition path (transitions.py); this module adds
only what money needs: the event's dedup row, flags, and a refund queued when money
arrives where it cannot stay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.order_rows import order_of
from shop.adapters.sql.orders import insert_ignore
from shop.adapters.sql.tables import orders, payment_events, utcnow
from shop.adapters.sql.transitions import Locked, SqlTransitions
from shop.errors import NotFound, SoldOut
from shop.lifecycle import Event, Move, OrderStatus, outcome
from shop.orders import Order
from shop.payments.port import Applied


class SqlPaymentLedger:
    def __init__(self, engine: AsyncEngine, transitions: SqlTransitions) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._transitions = transitions

    async def get(self, order_id: str) -> Order:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.id == order_id))).one_or_none()
        if row is None:
            raise NotFound("no such order")
        return order_of(row)

    async def apply_payment_event(
        self,
        event_id: str,
        provider: str,
        event_type: str,
        order_id: str | None,
        move: Event | None,
        *,
        extra: dict[str, Any] | None = None,
        flags: dict[str, Any] | None = None,
        money_in: bool = False,
        force_refund: bool = False,
        action: str = "payment.event",
    ) -> Applied:
        """Record a provider event and apply it to its order, in one transaction.

        A second delivery of the same event id changes nothing (`duplicate`). The order
        moves as the lifecycle says for `move` (through the backstop when that sells it).
        `flags` are merged into the order's flags either way. With `money_in`, money that
        cannot stay (sold out, `force_refund`, or a cancelled order) cancels the order if
        it is still open and queues a refund (`payment_events` row `refund:<order id>`).
        """
        now = utcnow()
        async with self._engine.begin() as conn:
            # The dedup row first: on SQLite it takes the write lock before anything is
            # read; on PostgreSQL a concurrent copy of the event waits here for ours.
            if not await self._first_delivery(conn, event_id, provider, event_type, order_id, now):
                return Applied(None, changed=False, duplicate=True)
            locked = None if order_id is None else await self._transitions.lock(conn, order_id)
            if locked is None:
                return Applied(None, changed=False)
            detail = {"event": event_id, "provider": provider, "type": event_type}
            merged = {**(locked.order.flags or {}), **(flags or {})}
            refund_due = money_in and (force_refund or locked.order.status is OrderStatus.CANCELLED)
            if move is not None and not refund_due:
                values = {"flags": merged, **(extra or {})}
                try:
                    moved = await self._transitions.move(
                        conn, locked, move, now=now, action=action, values=values, detail=detail
                    )
                except SoldOut:
                    if not money_in:
                        raise
                    refund_due = True
                else:
                    if moved.changed:
                        return Applied(moved.order, changed=True)
            if refund_due:
                return await self._refund_due(conn, locked, merged, extra, detail, now, action)
            return await self._flags_only(conn, locked, merged, detail, now, action)

    async def _first_delivery(
        self,
        conn: AsyncConnection,
        event_id: str,
        provider: str,
        event_type: str,
        order_id: str | None,
        now: datetime,
    ) -> bool:
        row = {"id": event_id, "provider": provider, "type": event_type, "order_id": order_id}
        query = insert_ignore(self._dialect, payment_events).values(**row, received_at=now)
        return (await conn.execute(query.returning(payment_events.c.id))).first() is not None

    async def _refund_due(
        self,
        conn: AsyncConnection,
        locked: Locked,
        merged: dict[str, Any],
        extra: dict[str, Any] | None,
        detail: dict[str, Any],
        now: datetime,
        action: str,
    ) -> Applied:
        """Money that cannot stay: cancel the order if still open, and queue the refund."""
        order = locked.order
        merged = {**merged, "refund": {"state": "due", "event": detail["event"]}}
        await conn.execute(
            insert_ignore(self._dialect, payment_events).values(
                id=f"refund:{order.id}",
                provider=detail["provider"],
                type="refund.due",
                order_id=order.id,
                received_at=now,
            )
        )
        values = {"flags": merged, **(extra or {})}
        if isinstance(outcome(order.status, Event.CANCEL), Move):
            moved = await self._transitions.move(
                conn, locked, Event.CANCEL, now=now, action=action, values=values, detail=detail
            )
            return Applied(moved.order, changed=True, refund_due=True)
        applied = await self._flags_only(conn, locked, values, detail, now, action, whole=True)
        return Applied(applied.order, changed=False, refund_due=True)

    async def _flags_only(
        self,
        conn: AsyncConnection,
        locked: Locked,
        merged: dict[str, Any],
        detail: dict[str, Any],
        now: datetime,
        action: str,
        *,
        whole: bool = False,
    ) -> Applied:
        """No move: write the merged flags (or, `whole`, these column values) if they changed."""
        order = locked.order
        values = merged if whole else {"flags": merged}
        if not whole and merged == (order.flags or {}):
            return Applied(order, changed=False)
        await conn.execute(
            update(orders).where(orders.c.id == order.id).values(**values, updated_at=now)
        )
        status = order.status.value
        await audit.record(
            conn, None, action, "order", order.id, {"from": status, "to": status, **detail}
        )
        updated = order_of(
            (await conn.execute(select(orders).where(orders.c.id == order.id))).one()
        )
        return Applied(updated, changed=False)

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
            locked = await self._transitions.lock(conn, order_id)
            current = None if locked is None else locked.order
            if current is None:
                raise NotFound("no such order")
            if current.payment_ref == payment_ref:
                merged = {**(current.flags or {}), **flags}
                if merged != current.flags:
                    await conn.execute(
                        update(orders).where(orders.c.id == order_id).values(flags=merged)
                    )
                    current = order_of(
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
        return None if row is None else order_of(row)

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
            return [order_of(r) for r in result]

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
