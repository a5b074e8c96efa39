"""An order and the command that places one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shop.address import Address
from shop.gate import LotSeed
from shop.lifecycle import HELD_STATUSES, SOLD_STATUSES, Event, OrderStatus


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
    code: str = ""  # the short code buyers are shown (shop/order_code.py)

    @property
    def is_sold(self) -> bool:
        return self.status.value in SOLD_STATUSES

    @property
    def is_held(self) -> bool:
        return self.status.value in HELD_STATUSES


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The batch found this idempotency key already used; the caller reads the winner."""

    session_id: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Transitioned:
    """What asking the store to move an order did."""

    order: Order  # as stored after the attempt
    changed: bool  # False: the lifecycle said NOOP (already there) or REFUSED
    refused: bool = False


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A note that an order changed and the gate must follow it."""

    id: int
    order_id: str
    lot_id: int


class NewOrders(Protocol):
    """What placing needs from the system of record."""

    async def find_by_key(self, session_id: int, key: str) -> Order | None: ...

    async def insert_batch(
        self, batch: Sequence[Order], done_outbox: Sequence[int] = ()
    ) -> tuple[list[Order | Duplicate | BaseException], list[int]]: ...


class OrderStore(NewOrders, Protocol):
    """What the order wing needs from the system of record (SqlOrders implements it)."""

    async def get(self, order_id: str) -> Order: ...

    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]: ...

    async def transition(
        self, order_id: str, event: Event, *, actor_id: int | None, action: str
    ) -> Transitioned: ...

    async def expire_due(self, now: datetime, limit: int = 500) -> list[str]: ...

    async def outbox_batch(
        self, older_than: datetime | None, limit: int = 500
    ) -> list[OutboxEntry]: ...

    async def outbox_done(self, ids: Sequence[int]) -> None: ...

    async def lot_ids(self) -> list[int]: ...

    async def lot_seed(self, lot_id: int, now: datetime) -> LotSeed: ...
