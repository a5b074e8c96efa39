"""SqlBuyerHistory: a phone's orders, for the refusal risk shown to staff."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.order_rows import order_of
from shop.adapters.sql.tables import orders
from shop.lifecycle import OrderStatus
from shop.orders import Order
from shop.refusals import PastOrder

_CHUNK = 500  # phones per query: well inside every driver's parameter limit


class SqlBuyerHistory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def history(self, phones: Iterable[str]) -> dict[str, list[PastOrder]]:
        wanted = sorted(set(phones))
        out: dict[str, list[PastOrder]] = {p: [] for p in wanted}
        async with self._engine.connect() as conn:
            for i in range(0, len(wanted), _CHUNK):
                result = await conn.execute(
                    select(
                        orders.c.id, orders.c.buyer_phone, orders.c.created_at, orders.c.status
                    ).where(orders.c.buyer_phone.in_(wanted[i : i + _CHUNK]))
                )
                for r in result:
                    out[r.buyer_phone].append(PastOrder(r.id, r.created_at, OrderStatus(r.status)))
        return out

    async def orders_for(self, phone: str, limit: int = 50) -> list[Order]:
        """A phone's newest orders (for the buyer, after the one-time code)."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(orders)
                .where(orders.c.buyer_phone == phone)
                .order_by(orders.c.created_at.desc(), orders.c.id)
                .limit(limit)
            )
            return [order_of(r) for r in result]

    async def returned_count(self, phone: str) -> int:
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count()).where(
                            orders.c.buyer_phone == phone,
                            orders.c.status == OrderStatus.RETURNED.value,
                        )
                    )
                ).scalar_one()
            )
