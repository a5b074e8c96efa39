"""SqlOrderReports: the reporting queries (session figures, staff order lists, exports)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.order_rows import order_of
from shop.adapters.sql.tables import live_sessions, lots, offers, orders
from shop.lifecycle import OrderStatus
from shop.order_reports import StaffOrder
from shop.orders import Order

_GONE = [OrderStatus.CANCELLED.value, OrderStatus.REFUNDED.value, OrderStatus.EXPIRED.value]


def _staff_query() -> Select[Any]:
    return select(
        orders, live_sessions.c.title, offers.c.code.label("offer_code"), lots.c.product
    ).select_from(
        orders.join(lots, lots.c.id == orders.c.lot_id)
        .join(offers, offers.c.id == orders.c.offer_id)
        .join(live_sessions, live_sessions.c.id == orders.c.session_id)
    )


class SqlOrderReports:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def cooperative_orders(self, cooperative_id: int) -> list[StaffOrder]:
        query = (
            _staff_query()
            .where(lots.c.cooperative_id == cooperative_id)
            .order_by(orders.c.created_at, orders.c.id)
        )
        return await self._staff(query)

    async def session_orders(self, session_id: int, limit: int) -> list[StaffOrder]:
        query = (
            _staff_query()
            .where(orders.c.session_id == session_id)
            .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
        )
        return await self._staff(query)

    async def order_by_code(self, code: str) -> Order | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.code == code))).one_or_none()
        return None if row is None else order_of(row)

    async def _staff(self, query: Select[Any]) -> list[StaffOrder]:
        async with self._engine.connect() as conn:
            return [
                StaffOrder(order_of(r), r.title, r.offer_code, r.product)
                for r in await conn.execute(query)
            ]
