"""Refusal risk ("bom hàng"): a buyer phone's earlier orders and how many it refused.

Cash on delivery is the habit, and a parcel refused at the door costs the cooperative
both ways' shipping and, for fruit, the goods. Staff see each order's `risk` (orders and
refusals of the same phone before it) and call risky buyers first; an operator can
require prepayment from phones with N refusals (`FARMLIVE_PREPAY_AFTER_REFUSALS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shop.errors import InvalidInput
from shop.lifecycle import OrderStatus
from shop.orders import Order


class PrepaymentRequired(InvalidInput):
    """This phone refused earlier deliveries: pay by bank transfer first."""

    code = "prepayment_required"


@dataclass(frozen=True, slots=True)
class PastOrder:
    order_id: str
    created_at: datetime
    status: OrderStatus


@dataclass(frozen=True, slots=True)
class Risk:
    orders_before: int
    returned_before: int

    def view(self) -> dict[str, int]:
        return {"orders_before": self.orders_before, "returned_before": self.returned_before}


class BuyerHistory(Protocol):
    """SqlBuyerHistory implements it."""

    async def history(self, phones: Iterable[str]) -> dict[str, list[PastOrder]]: ...

    async def returned_count(self, phone: str) -> int: ...


def risk_of(order: Order, past: Sequence[PastOrder]) -> Risk:
    """What the phone did before this order (the order itself never counts)."""
    before = [
        p
        for p in past
        if p.order_id != order.id and (p.created_at, p.order_id) < (order.created_at, order.id)
    ]
    return Risk(
        orders_before=len(before),
        returned_before=sum(1 for p in before if p.status is OrderStatus.RETURNED),
    )


def risk_key(risk: Risk) -> tuple[int, int]:
    """Sort key: most refusals first, then the phones with fewest orders (unknown buyers)."""
    return (-risk.returned_before, risk.orders_before)


def check_cash_on_delivery(returned: int, threshold: int) -> None:
    """Refuse COD for a phone with `threshold` refusals or more (0 = never refuse)."""
    if threshold > 0 and returned >= threshold:
        raise PrepaymentRequired(
            "số điện thoại này đã từ chối nhận hàng trước đây: vui lòng chuyển khoản trước "
            "(this phone refused deliveries before: please pay by bank transfer)",
            field="payment_method",
        )
