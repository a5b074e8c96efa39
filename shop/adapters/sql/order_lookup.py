"""An order by its short code (for the buyer's lookup with their phone)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.order_rows import order_of
from shop.adapters.sql.tables import orders
from shop.orders import Order


class SqlOrderLookup:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_code(self, code: str) -> Order | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.code == code))).one_or_none()
        return None if row is None else order_of(row)
