"""Cash on delivery: nothing to start and nothing to show but the amount; staff confirm by phone."""

from __future__ import annotations

from typing import Any

from shop.orders import Order, PaymentMethod
from shop.payments.port import Draft, PaymentStart, Terms, payment_reference


class CashOnDelivery:
    """The default: the order counts as sold at once and is confirmed by staff before dispatch."""

    method = PaymentMethod.COD

    async def terms(self, draft: Draft) -> Terms:
        return Terms(payment_ref=payment_reference(draft.order_id))

    async def begin(self, order: Order, token: str) -> PaymentStart | None:
        return None

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        return {
            "method": self.method,
            "amount": order.total,
            "currency": order.currency,
            "reference": order.payment_ref or payment_reference(order.id),
        }

    async def close(self) -> None:
        return None
