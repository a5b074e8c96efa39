"""Order statuses (defined with the lifecycle table in shop/lifecycle.py)."""

from __future__ import annotations

from shop.lifecycle import HELD_STATUSES, SOLD_STATUSES, OrderStatus

__all__ = ["HELD_STATUSES", "SOLD_STATUSES", "OrderStatus"]
