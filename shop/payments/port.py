"""The PaymentProvider port: how an order is paid, and what a provider tells us back.

A provider is chosen per order (`payment_method`). It is asked three things:
- `terms`, before the order row is written: the payment reference, how long the stock is
  held, and a snapshot of what the buyer will be shown (it may refuse the order);
- `begin`, after the row is committed: start the payment with the outside world (a
  Stripe Checkout Session); idempotent, so a replayed request simply resumes it;
- `view`, for every read: the `payment` object of the order JSON.
Providers that take money themselves (`Gateway`) also verify webhooks, close a checkout
that must not be paid any more, and refund.

Money is integer đồng everywhere: no float crosses this port.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from shop.lifecycle import Event
from shop.orders import Order


def payment_reference(order_id: str) -> str:
    """The short code a buyer types into a transfer note: "FL" + 10 hex digits of the id."""
    return "FL" + order_id.replace("-", "")[:10].upper()


@dataclass(frozen=True, slots=True)
class Draft:
    """An order about to be written, as a provider sees it."""

    order_id: str
    session_id: int
    lot_id: int
    quantity: int
    unit_price: int  # đồng
    total: int  # đồng
    currency: str
    created_at: datetime
    hold_expires_at: datetime  # the default hold (FARMLIVE_HOLD_SECONDS)


@dataclass(frozen=True, slots=True)
class Terms:
    """What a provider decides before the row is written."""

    payment_ref: str | None = None
    # None keeps the default hold; a provider may need the stock held longer.
    hold_expires_at: datetime | None = None
    flags: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PaymentStart:
    """What `begin` learned from the outside world (stored on the order)."""

    payment_ref: str
    flags: dict[str, Any]


class EventKind(enum.StrEnum):
    PAID = "paid"  # money arrived
    FAILED = "failed"  # the payment attempt failed for good
    EXPIRED = "expired"  # the checkout can no longer be paid
    REFUNDED = "refunded"  # money fully returned
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified provider event, translated out of the provider's vocabulary."""

    id: str  # the provider's event id: the dedup key
    provider: str
    type: str  # the provider's event type, kept for the record
    kind: EventKind
    order_id: str | None = None
    payment_ref: str | None = None  # the provider's payment id (e.g. a PaymentIntent)
    amount: int | None = None  # đồng; None when the event carries none
    currency: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class CheckoutState(enum.StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class Closed:
    """The result of closing a checkout: it expired, or it had been paid meanwhile."""

    state: CheckoutState
    paid: PaymentEvent | None = None


@runtime_checkable
class PaymentProvider(Protocol):
    """One way to pay; adapters: CashOnDelivery, BankTransfer, StripePayments."""

    @property
    def method(self) -> str:
        """The `payment_method` value this provider serves."""
        ...

    async def terms(self, draft: Draft) -> Terms:
        """Reference, hold and snapshot for a new order; raises InvalidInput to refuse it."""
        ...

    async def begin(self, order: Order, token: str) -> PaymentStart | None:
        """Start the payment outside (idempotent per order); None when there is nothing to do."""
        ...

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        """The order's `payment` object: what the buyer's page shows."""
        ...

    async def close(self) -> None:
        """Release the provider's resources."""
        ...


@runtime_checkable
class Gateway(PaymentProvider, Protocol):
    """A provider that takes the money itself and tells us by signed webhooks."""

    def parse_webhook(self, body: bytes, signature: str | None) -> PaymentEvent:
        """Verify `body` against its signature header and translate it; InvalidWebhook if not."""
        ...

    async def close_checkout(self, order: Order) -> Closed:
        """Make sure the order's checkout can no longer be paid; says how it ended."""
        ...

    async def refund(self, order: Order) -> str:
        """Refund the order's payment in full (idempotent per order); the refund id."""
        ...


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a payment event did to the order."""

    order: Order | None
    changed: bool
    duplicate: bool = False
    refund_due: bool = False


class PaymentLedger(Protocol):
    """What payments need from the system of record (SqlPaymentLedger implements it)."""

    async def get(self, order_id: str) -> Order: ...

    async def apply_payment_event(
        self,
        event_id: str,
        provider: str,
        event_type: str,
        order_id: str | None,
        move: Event | None,
        *,
        extra: dict[str, Any] | None = None,
        flags: dict[str, Any] | None = None,
        money_in: bool = False,
        force_refund: bool = False,
        action: str = "payment.event",
    ) -> Applied: ...

    async def record_payment_start(
        self, order_id: str, payment_ref: str, flags: dict[str, Any]
    ) -> Order: ...

    async def find_by_payment_ref(self, payment_ref: str) -> Order | None: ...

    async def checkouts_due(
        self, method: str, created_before: datetime, limit: int = 100
    ) -> list[Order]: ...

    async def refunds_due(self, limit: int = 100) -> list[str]: ...

    async def refund_sent(self, order_id: str, refund_id: str) -> None: ...
