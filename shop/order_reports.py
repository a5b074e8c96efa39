"""The OrderReports port: what staff pages and exports read about orders (not the order
path's reads, which are OrderStore's). SqlOrderReports implements it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop.catalogue import LotFigures
from shop.orders import Order


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


@dataclass(frozen=True, slots=True)
class StaffOrder:
    """An order with what staff lists show beside it."""

    order: Order
    session_title: str
    offer_code: str
    product: str


class OrderReports(Protocol):
    async def session_stats(self, session_id: int, figures: list[LotFigures]) -> SessionStats:
        """A session's order figures; `figures` are its lots' current grams."""
        ...

    async def cooperative_orders(self, cooperative_id: int) -> list[StaffOrder]:
        """A cooperative's orders, oldest first."""
        ...

    async def session_orders(self, session_id: int, limit: int) -> list[StaffOrder]:
        """A session's newest `limit` orders, newest first."""
        ...
