"""Order statuses and the only transitions allowed between them."""

from __future__ import annotations

import enum


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"  # stock held until paid or expired
    PLACED = "placed"  # cash on delivery: counts as sold, staff confirm by phone
    CONFIRMED = "confirmed"  # COD confirmed by staff, ready to pack
    PAID = "paid"  # bank transfer or card received
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


HELD_STATUSES = (OrderStatus.PENDING_PAYMENT.value,)
RELEASED_STATUSES = (
    OrderStatus.CANCELLED.value,
    OrderStatus.EXPIRED.value,
)
SOLD_STATUSES = (OrderStatus.PLACED.value, OrderStatus.CONFIRMED.value, OrderStatus.PAID.value)

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset(
        {OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PLACED: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    # A transfer that lands after its hold expired may still get stock, if any is left.
    OrderStatus.EXPIRED: frozenset({OrderStatus.PAID}),
    OrderStatus.REFUNDED: frozenset(),
}


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in TRANSITIONS[current]
