"""The one SQL transition path: row-locked read, the lifecycle's move, its stock effect,
the outbox row, the audit row and the recorder, all in the caller's transaction.

Staff changes, payment events and hold expiry all come through `SqlTransitions.move`;
placing a batch of new orders uses `stock_effect` and `record` the same way
(shop/adapters/sql/orders.py). What may move where is decided only by shop/lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shop.adapters.sql import audit
from shop.adapters.sql.order_rows import add_outbox, add_sold, order_of, outbox_row, write_off
from shop.adapters.sql.recorder import NoRecorder, TransitionRecorder
from shop.adapters.sql.tables import lots, orders
from shop.errors import OrderChangedMeanwhile, SoldOut
from shop.lifecycle import (
    NOOP,
    REFUSED,
    Effect,
    Event,
    Move,
    OrderStatus,
    Stock,
    outcome,
    resolve,
    stock_of,
)
from shop.order_record import TransitionRecord
from shop.orders import Order, Transitioned


@dataclass(frozen=True, slots=True)
class Locked:
    """An order read under its row lock, with its lot's cooperative (for the record)."""

    order: Order
    cooperative_id: int
    perishable: bool = True


def record_of(
    order: Order, cooperative_id: int, before: OrderStatus | None, move: Move, ts: datetime
) -> TransitionRecord:
    return TransitionRecord(
        order_id=order.id,
        code=order.code,
        session_id=order.session_id,
        offer_id=order.offer_id,
        lot_id=order.lot_id,
        cooperative_id=cooperative_id,
        grams=order.grams,
        amount=order.total,
        from_status=before,
        to_status=move.to,
        event=move.ledger_event,
        ts=ts,
        province_code=order.province_code,
        ward_code=order.ward_code,
        buyer_phone=order.buyer_phone,
    )


def stock_effect(
    conn: Connection,
    lot_id: int,
    grams: int,
    before: Stock,
    move: Move,
    *,
    perishable: bool = True,
) -> bool:
    """Apply a move's effect to `lots`; False when the backstop refuses a sale.

    Only sales are in `lots` (holds are counted from the orders' statuses), so HOLD and
    the release of a hold write nothing here.
    """
    effect = resolve(move.effect, perishable=perishable)
    if effect is Effect.SELL and before is not Stock.SOLD:
        return add_sold(conn, lot_id, grams)
    if effect is Effect.RELEASE and before is Stock.SOLD:
        return add_sold(conn, lot_id, -grams)
    if effect is Effect.WRITE_OFF and before is Stock.SOLD:
        write_off(conn, lot_id, grams)
    return True


class SqlTransitions:
    def __init__(self, dialect: str, recorder: TransitionRecorder | None = None) -> None:
        self._dialect = dialect
        self.recorder: TransitionRecorder = recorder or NoRecorder()

    async def lock(self, conn: AsyncConnection, order_id: str) -> Locked | None:
        """The order, row-locked until the transaction ends (PostgreSQL; SQLite has one
        writer anyway, and `move` updates only if the status is still the one read)."""
        query = (
            select(orders, lots.c.cooperative_id, lots.c.perishable)
            .join(lots, lots.c.id == orders.c.lot_id)
            .where(orders.c.id == order_id)
        )
        if self._dialect == "postgresql":
            query = query.with_for_update(of=orders)
        row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return Locked(order_of(row), int(row.cooperative_id), bool(row.perishable))

    async def move(
        self,
        conn: AsyncConnection,
        locked: Locked,
        event: Event,
        *,
        now: datetime,
        actor_id: int | None = None,
        action: str,
        values: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Transitioned:
        """Move the locked order as the lifecycle says for `event`.

        A NOOP or REFUSED answer writes nothing. Raises SoldOut when the backstop refuses
        a sale and OrderChangedMeanwhile when the row changed since it was read (SQLite).
        `values` (order columns) are written with the move.
        """
        current = locked.order
        answer = outcome(current.status, event)
        if answer is NOOP or answer is REFUSED:
            return Transitioned(current, changed=False, refused=answer is REFUSED)
        assert isinstance(answer, Move)
        before = stock_of(current.status, written_off=current.written_off)
        if not await conn.run_sync(
            stock_effect,
            current.lot_id,
            current.grams,
            before,
            answer,
            perishable=locked.perishable,
        ):
            raise SoldOut(lot_id=current.lot_id)
        extra = dict(values or {})
        if resolve(answer.effect, perishable=locked.perishable) is Effect.WRITE_OFF:
            extra["written_off"] = before is Stock.SOLD
        result = await conn.execute(
            update(orders)
            .where(orders.c.id == current.id, orders.c.status == current.status.value)
            .values(status=answer.to.value, updated_at=now, **extra)
        )
        if result.rowcount != 1:
            raise OrderChangedMeanwhile("the order changed meanwhile; try again")
        await conn.run_sync(add_outbox, [outbox_row(current.id, current.lot_id, now)])
        audit_detail = {"from": current.status.value, "to": answer.to.value, **(detail or {})}
        await audit.record(conn, actor_id, action, "order", current.id, audit_detail)
        after = replace(current, status=answer.to, updated_at=now, **extra)
        await conn.run_sync(
            self.record, [record_of(after, locked.cooperative_id, current.status, answer, now)]
        )
        return Transitioned(after, changed=True)

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        if records:
            self.recorder.record(conn, records)

    def cooperatives(self, conn: Connection, lot_ids: Iterable[int]) -> dict[int, int]:
        """lot id -> cooperative id (a lot never changes cooperative)."""
        ids = sorted(set(lot_ids))
        if not ids:
            return {}
        rows = conn.execute(select(lots.c.id, lots.c.cooperative_id).where(lots.c.id.in_(ids)))
        return {int(r.id): int(r.cooperative_id) for r in rows}
