"""ShippingService: waybills for confirmed orders, the order's delivery moves, carrier news.

- Staff ship one order (`ship`) or a batch from /coop (`ship_batch`). A carrier with an
  adapter gets a waybill job per order (the order id is the idempotency key at the
  carrier, and one `shipments` row per order means one job); any other carrier name is
  shipping by hand with the tracking number staff typed.
- A job that cannot reach its carrier stays `queued` with its next attempt pushed back
  (5 s, 10 s, ...; `shop/retry.py`) and its last error shown to staff; the order is not
  blocked: it stays confirmed until its waybill exists, then moves to `shipped`.
- Every order move (ship, deliver, return) goes through the one transition path
  (`OrderMover.apply`, shop/order_moves.py): the lifecycle table decides what may move,
  the transaction writes the ledger entry (the recorder) and the buyer's message.
- Carrier callbacks (`carrier_update`), already verified, move the order to delivered or
  returned; repeats are no-ops because the lifecycle answers NOOP.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from shop.carriers.port import Carrier, CarrierUpdate, DeliveryState, Parcel, Waybill
from shop.errors import InvalidInput, InvalidTransition, ShopError
from shop.lifecycle import NOOP, REFUSED, Event, OrderStatus, outcome
from shop.money import format_weight
from shop.orders import Order, PaymentMethod
from shop.retry import next_attempt

log = logging.getLogger("farmlive.shipping")


class ShipmentState(enum.StrEnum):
    QUEUED = "queued"  # the waybill is still to be made (or being retried)
    CREATED = "created"  # the carrier has it
    FAILED = "failed"  # the carrier refused it: staff must fix the order and ship again
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Shipment:
    order_id: str
    carrier: str
    state: ShipmentState
    tracking: str | None
    tracking_url: str | None
    fee: int | None
    delivery: str | None
    raw_status: str | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    batch_id: str | None


class ShipmentStore(Protocol):
    """SqlShipments implements it."""

    async def request(
        self, order_ids: Sequence[str], carrier: str, batch_id: str | None, now: datetime
    ) -> list[Shipment]:
        """A queued job per order that has none (or whose last one failed); all their rows."""
        ...

    async def by_hand(
        self, order_id: str, carrier: str, tracking: str, now: datetime
    ) -> Shipment: ...

    async def get_many(self, order_ids: Sequence[str]) -> dict[str, Shipment]: ...

    async def claim(
        self, now: datetime, lease_s: float, limit: int, order_ids: Sequence[str] | None = None
    ) -> list[Shipment]:
        """Queued jobs that are due (of `order_ids` when given), each leased to the caller."""
        ...

    async def created(self, order_id: str, waybill: Waybill, now: datetime) -> Shipment: ...

    async def retry(
        self, order_id: str, attempts: int, at: datetime | None, error: str, now: datetime
    ) -> None:
        """Try again at `at`; `at` None: failed, for staff."""
        ...

    async def find(self, carrier: str, tracking: str) -> Shipment | None: ...

    async def delivery(self, order_id: str, state: str, raw: str, now: datetime) -> None: ...


class OrderMover(Protocol):
    """The one transition path for staff and carrier moves (shop/order_moves.OrderMoves)."""

    async def apply(
        self, order_id: str, event: Event, actor_id: int | None, action: str, verb: str
    ) -> Order: ...


class OrderReader(Protocol):
    async def get(self, order_id: str) -> Order: ...

    async def get_many(self, order_ids: Sequence[str]) -> dict[str, Order]: ...


Describe = Callable[[Order], Awaitable[str]]

_MOVES = {
    Event.SHIP: ("order.ship", "shipped"),
    Event.DELIVER: ("order.deliver", "delivered"),
    Event.RETURN: ("order.return", "returned"),
}


def can_ship(order: Order) -> bool:
    """Whether the lifecycle lets this order ship (or it already has)."""
    return outcome(order.status, Event.SHIP) is not REFUSED


class ShippingService:
    def __init__(
        self,
        *,
        store: ShipmentStore,
        carriers: dict[str, Carrier],
        orders: OrderReader,
        moves: OrderMover,
        describe: Describe,
        interval_s: float = 2.0,
        lease_s: float = 120.0,
        concurrency: int = 4,
    ) -> None:
        self._store = store
        self.carriers = carriers
        self._orders = orders
        self._moves = moves
        self._describe = describe
        self._interval = interval_s
        self._lease = lease_s
        self._limit = asyncio.Semaphore(concurrency)  # carriers rate-limit bursts
        self._task: asyncio.Task[None] | None = None

    # -- staff ---------------------------------------------------------------------
    async def ship(
        self, order: Order, carrier: str, tracking: str | None, actor_id: int | None
    ) -> tuple[Order, Shipment]:
        """Ship one order: a waybill through an adapter, or by hand with a typed number."""
        self._check_shippable(order)
        now = datetime.now(UTC)
        if tracking:
            shipment = await self._store.by_hand(order.id, carrier, tracking, now)
            return await self._move(order.id, Event.SHIP, actor_id), shipment
        if carrier not in self.carriers:
            raise InvalidInput(
                f"{carrier!r} has no adapter here: type the tracking number to ship by hand",
                field="tracking",
            )
        [shipment] = await self._store.request([order.id], carrier, None, now)
        shipment = await self._make_claimed([order.id], actor_id) or shipment
        return await self._orders.get(order.id), shipment

    async def ship_batch(
        self, orders: Sequence[Order], carrier: str, actor_id: int | None
    ) -> tuple[str, list[Shipment]]:
        """Waybills for several orders at once (those the lifecycle lets ship)."""
        if carrier not in self.carriers:
            raise InvalidInput(f"no carrier adapter {carrier!r} on this server", field="carrier")
        for order in orders:
            self._check_shippable(order)
        batch_id = str(uuid.uuid4())
        ids = [o.id for o in orders]
        await self._store.request(ids, carrier, batch_id, datetime.now(UTC))
        await asyncio.gather(*[self._make_claimed([i], actor_id) for i in ids])
        rows = await self._store.get_many(ids)
        return batch_id, [rows[i] for i in ids if i in rows]

    async def delivered(self, order_id: str, actor_id: int | None) -> Order:
        return await self._move(order_id, Event.DELIVER, actor_id)

    async def returned(self, order_id: str, actor_id: int | None) -> Order:
        return await self._move(order_id, Event.RETURN, actor_id)

    def _check_shippable(self, order: Order) -> None:
        if not can_ship(order):
            # Confirm before dispatch (must-not-happen #4): a placed COD order waits.
            raise InvalidTransition(f"a {order.status.value} order cannot be shipped")

    async def _move(self, order_id: str, event: Event, actor_id: int | None) -> Order:
        action, verb = _MOVES[event]
        return await self._moves.apply(order_id, event, actor_id, action, verb)

    # -- waybill jobs ----------------------------------------------------------------
    async def make_due(self, now: datetime | None = None, limit: int = 50) -> int:
        """Make the waybills whose (re)try is due; how many were made."""
        jobs = await self._store.claim(now or datetime.now(UTC), self._lease, limit)
        made = await asyncio.gather(*[self._make(job, None) for job in jobs])
        return sum(1 for m in made if m is not None and m.state is ShipmentState.CREATED)

    async def _make_claimed(
        self, order_ids: Sequence[str], actor_id: int | None
    ) -> Shipment | None:
        jobs = await self._store.claim(datetime.now(UTC), self._lease, len(order_ids), order_ids)
        made = None
        for job in jobs:
            made = await self._make(job, actor_id)
        return made

    async def _make(self, job: Shipment, actor_id: int | None) -> Shipment | None:
        order = await self._orders.get(job.order_id)
        now = datetime.now(UTC)
        if not can_ship(order):
            await self._store.retry(
                order.id, job.attempts, None, f"order is {order.status.value}", now
            )
            return None
        try:
            async with self._limit:
                waybill = await self.carriers[job.carrier].create(await self.parcel(order))
        except ShopError as exc:
            attempts = job.attempts + 1
            at = next_attempt(now, attempts) if exc.retryable else None
            log.warning("waybill for %s not made (attempt %d): %s", order.id, attempts, exc.message)
            await self._store.retry(order.id, attempts, at, exc.message[:300], now)
            return (await self._store.get_many([order.id])).get(order.id)
        shipment = await self._store.created(order.id, waybill, datetime.now(UTC))
        try:
            await self._move(order.id, Event.SHIP, actor_id)
        except InvalidTransition as exc:
            # Cancelled while the waybill was being made: staff see it on the shipment.
            log.warning("order %s has a waybill but did not ship: %s", order.id, exc.message)
        return shipment

    async def parcel(self, order: Order) -> Parcel:
        cod = order.total if order.payment_method == PaymentMethod.COD else 0
        return Parcel(
            order_id=order.id,
            order_code=order.code or order.id[:8].upper(),
            to_name=order.buyer_name,
            to_phone=order.buyer_phone,
            to_street=order.street,
            to_ward=order.ward_name,
            to_province=order.province_name,
            weight_grams=order.grams,
            cod_amount=cod,
            declared_value=order.total,
            content=f"{await self._describe(order)} {format_weight(order.grams)}",
        )

    # -- carrier news ----------------------------------------------------------------
    async def carrier_update(self, carrier: str, update: CarrierUpdate) -> Order | None:
        """Apply a verified status callback: delivered or returned move the order."""
        shipment = await self._store.find(carrier, update.tracking)
        if shipment is None:
            log.warning("%s callback for unknown waybill %s", carrier, update.tracking)
            return None
        await self._store.delivery(
            shipment.order_id, update.state.value, update.raw_status[:64], datetime.now(UTC)
        )
        event = {DeliveryState.DELIVERED: Event.DELIVER, DeliveryState.RETURNED: Event.RETURN}
        if update.state not in event:
            return None
        order = await self._orders.get(shipment.order_id)
        try:
            if update.state is DeliveryState.DELIVERED and order.status is not OrderStatus.SHIPPED:
                if outcome(order.status, Event.SHIP) not in (NOOP, REFUSED):
                    order = await self._move(order.id, Event.SHIP, None)  # its ship move was lost
            return await self._move(order.id, event[update.state], None)
        except InvalidTransition as exc:
            # News the order cannot take (returned after delivered, a cancelled order):
            # kept on the shipment for staff; the carrier must not retry it forever.
            log.warning("%s news for order %s not applied: %s", carrier, order.id, exc.message)
            return await self._orders.get(order.id)

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="waybills")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def aclose(self) -> None:
        for carrier in self.carriers.values():
            await carrier.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.make_due()
            except Exception:
                log.exception("waybill worker failed; retrying")
