"""The Carrier port: create a waybill for an order, read it, cancel it, hear its news.

A carrier is asked for one waybill per order. The order id is the idempotency key
(GHN's `client_order_code`, GHTK's `order.id`), so a retry after a lost answer finds
the waybill made the first time instead of making a second one. Webhook bodies are
verified before they are read (`parse_webhook`). Money is integer đồng and weights
integer grams across the port; adapters convert to what each carrier wants.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shop.errors import InvalidInput, ShopError


class CarrierUnavailable(ShopError):
    """The carrier cannot be reached or failed on its side; the job retries later."""

    code = "carrier_unavailable"
    retryable = True


class CarrierRefused(InvalidInput):
    """The carrier refused the waybill (bad address, weight, ...); staff must fix it."""

    code = "carrier_refused"


class DeliveryState(enum.StrEnum):
    """A carrier's many statuses, reduced to what an order cares about."""

    CREATED = "created"  # waybill made, not yet picked up
    IN_TRANSIT = "in_transit"  # picked up, on its way
    DELIVERED = "delivered"  # handed over (and COD collected)
    RETURNED = "returned"  # refused or undeliverable, coming back / back
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Parcel:
    """What a waybill needs from an order."""

    order_id: str  # the idempotency key at the carrier
    order_code: str  # printed on the label
    to_name: str
    to_phone: str
    to_street: str
    to_ward: str
    to_province: str
    weight_grams: int
    cod_amount: int  # đồng collected at the door; 0 when prepaid
    declared_value: int  # đồng, for insurance
    content: str  # what is inside, e.g. "Vải thiều 10 kg"


@dataclass(frozen=True, slots=True)
class Waybill:
    tracking: str  # the carrier's order code / label
    fee: int | None = None  # đồng, when the carrier says
    tracking_url: str | None = None


@dataclass(frozen=True, slots=True)
class CarrierUpdate:
    """A verified status message from a carrier (webhook) or a status read."""

    tracking: str
    state: DeliveryState
    raw_status: str  # the carrier's own word, kept for staff
    order_id: str | None = None  # our id, when the carrier echoes it back
    event_id: str | None = None  # dedup key for webhook deliveries


@runtime_checkable
class Carrier(Protocol):
    """One carrier; adapters: GhnCarrier, GhtkCarrier (HTTP), ManualCarrier (by hand)."""

    @property
    def name(self) -> str: ...

    async def create(self, parcel: Parcel) -> Waybill:
        """Make (or find, for this order id) the waybill; CarrierUnavailable to retry later."""
        ...

    async def status(self, tracking: str) -> CarrierUpdate: ...

    async def cancel(self, tracking: str) -> None: ...

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> CarrierUpdate:
        """Verify and translate a status callback; InvalidWebhook when it does not verify."""
        ...

    def tracking_url(self, tracking: str) -> str | None: ...

    async def close(self) -> None: ...
