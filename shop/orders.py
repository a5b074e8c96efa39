"""An order and the command that places one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shop.address import Address
from shop.order_status import HELD_STATUSES, SOLD_STATUSES, OrderStatus


class PaymentMethod:
    COD = "cod"
    BANK_TRANSFER = "bank_transfer"
    STRIPE = "stripe"
    ALL = (COD, BANK_TRANSFER, STRIPE)


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    phone: str  # normalised: 10 digits starting with 0
    address: Address


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A viewer's validated request to buy `quantity` packs of an offer."""

    session_id: int
    offer_id: int
    quantity: int
    buyer: Buyer
    payment_method: str
    idempotency_key: str
    request_hash: str  # of the request body, to tell a replay from a reused key


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    session_id: int
    offer_id: int
    lot_id: int
    idempotency_key: str
    request_hash: str
    token_hash: str
    status: OrderStatus
    quantity: int
    grams: int
    unit_price: int
    total: int
    currency: str
    buyer_name: str
    buyer_phone: str
    province_code: str | None
    province_name: str
    ward_code: str | None
    ward_name: str
    street: str
    payment_method: str
    payment_ref: str | None
    hold_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    flags: dict[str, Any] | None

    @property
    def is_sold(self) -> bool:
        return self.status.value in SOLD_STATUSES

    @property
    def is_held(self) -> bool:
        return self.status.value in HELD_STATUSES
