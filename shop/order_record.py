"""What every status change of an order leaves behind, for whoever keeps a record of them.

The SQL transition path builds one `TransitionRecord` per committed move (placing
included) and hands them, inside the move's own transaction, to a `TransitionRecorder`
(shop/adapters/sql/recorder.py), so a record can never disagree with the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shop.lifecycle import OrderStatus


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One committed move of one order. No names or streets; the phone travels only for
    the buyer's message of the move (NotificationRecorder), and the public ledger's facts
    never copy it (shop/adapters/sql/ledger.py `fact_of`)."""

    order_id: str
    code: str
    session_id: int
    offer_id: int
    lot_id: int
    cooperative_id: int
    grams: int
    amount: int  # the order's total, integer đồng
    from_status: OrderStatus | None  # None when the move placed the order
    to_status: OrderStatus
    # The ledger's event name (CONTRACT): placed, confirmed, paid, cancelled, expired,
    # refunded, shipped, delivered, returned.
    event: str
    ts: datetime
    buyer_phone: str  # for the buyer's message of the move only
    province_code: str | None = None
    ward_code: str | None = None
