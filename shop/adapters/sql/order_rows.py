"""Order rows in and out of SQL, and the two writes every stock move is made of.

The writes are plain functions over a sync `Connection`: the group commit runs them in
one go (shop/adapters/sql/sync_tx.py) and async callers through `AsyncConnection.run_sync`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Integer, Row, bindparam, insert, update

from shop.adapters.sql.tables import lots, orders, outbox
from shop.lifecycle import OrderStatus
from shop.orders import Order

ORDER_COLUMNS = tuple(c.name for c in orders.columns)


def order_of(row: Row[Any]) -> Order:
    """An Order from a row that has (at least) every column of `orders`."""
    mapping = row._mapping
    data = {k: mapping[k] for k in ORDER_COLUMNS}
    data["status"] = OrderStatus(data["status"])
    return Order(**data)


def row_of(order: Order) -> dict[str, Any]:
    """An Order as an `orders` row."""
    row = {k: getattr(order, k) for k in ORDER_COLUMNS}
    row["status"] = order.status.value
    return row


def outbox_row(order_id: str, lot_id: int, now: datetime) -> dict[str, Any]:
    """The relay's note that this order's gate state must follow SQL."""
    return {
        "kind": "order.sync",
        "payload": {"order_id": order_id, "lot_id": lot_id},
        "created_at": now,
    }


_ADD_OUTBOX = insert(outbox).returning(outbox.c.id)
_GRAMS: BindParameter[int] = bindparam("grams", type_=Integer)
# Built once (every placing batch and every move runs it): the backstop.
_ADD_SOLD = (
    update(lots)
    .where(
        lots.c.id == bindparam("lot"),
        lots.c.sold_grams + _GRAMS <= lots.c.stock_grams,
        lots.c.sold_grams + _GRAMS >= 0,
    )
    .values(sold_grams=lots.c.sold_grams + _GRAMS)
)


def add_outbox(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    return [r[0] for r in conn.execute(_ADD_OUTBOX, rows)]


def add_sold(conn: Connection, lot_id: int, grams: int) -> bool:
    """The backstop: move sold_grams by `grams` only if it stays within 0..stock."""
    result = conn.execute(_ADD_SOLD, {"lot": lot_id, "grams": grams})
    return bool(result.rowcount == 1)


def write_off(conn: Connection, lot_id: int, grams: int) -> None:
    """Sold goods that will not be resold leave the lot (stock and sold alike), as the
    gate's write_off does, so SQL and the gate keep agreeing."""
    conn.execute(
        update(lots)
        .where(lots.c.id == lot_id)
        .values(stock_grams=lots.c.stock_grams - grams, sold_grams=lots.c.sold_grams - grams)
    )
