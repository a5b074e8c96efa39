"""SqlOrderReports: the reporting queries (session figures, staff order lists, exports)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.order_rows import order_of
from shop.adapters.sql.tables import live_sessions, lots, offers, orders
from shop.catalogue import LotFigures
from shop.lifecycle import HELD_STATUSES, SOLD_STATUSES, OrderStatus
from shop.order_reports import SessionStats, StaffOrder

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
                        orders.c.session_id == session_id, orders.c.status.in_(_GONE)
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

    async def _staff(self, query: Select[Any]) -> list[StaffOrder]:
        async with self._engine.connect() as conn:
            return [
                StaffOrder(order_of(r), r.title, r.offer_code, r.product)
                for r in await conn.execute(query)
            ]
