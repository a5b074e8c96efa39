"""Placer: turns a viewer's PlaceOrder into a held or sold order, or a clear refusal.

1. The order id is uuid5(session, Idempotency-Key, body hash): no idempotency read on the
   hot path. The gate's reserve is idempotent per order id and the insert skips a used
   key, so a retry lands on the first order (`Duplicate`) and is replayed.
2. The gate reserves the grams; concurrent reserves share one gate call (`GateBatcher`).
3. The order row and its outbox row commit in a group commit (shop/group_commit.py);
   orders born sold (COD) pass the SQL backstop in that transaction. Each request is
   answered only once its own row is committed; the relay then applies the batch.
Refusals look for an earlier order with the key first, so a late retry gets its answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shop.catalogue import LiveSession, Offer
from shop.errors import (
    BuyerLimitExceeded,
    GateUnavailable,
    IdempotencyMismatch,
    InvalidInput,
    LotNotLoaded,
    SalePaused,
    SessionNotLive,
    ShopError,
    SoldOut,
)
from shop.gate import GateOp, GateStep, InventoryGate, LotState, StepResult
from shop.gate_keeper import GateKeeper
from shop.gate_sync import GateSync
from shop.group_commit import GroupCommitter
from shop.hold_policy import BuyerBudget, HoldPolicy
from shop.lifecycle import placing
from shop.order_code import new_code
from shop.order_sessions import SessionCache
from shop.order_tokens import OrderTokens
from shop.orders import Duplicate, NewOrders, Order, PaymentMethod, PlaceOrder
from shop.payments.port import Draft, Terms
from shop.single_flight import SingleFlight

log = logging.getLogger("farmlive.orders")

_ORDER_NS = uuid.UUID("6f1c3c52-5a0b-4d8e-9b1e-0d3c1f0e4a11")

OrderEvent = Callable[[Order], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    token: str
    created: bool


class PaymentHooks(Protocol):
    """What placing asks the payment providers (PaymentService)."""

    async def terms(self, method: str, draft: Draft) -> Terms: ...

    async def begin(self, order: Order, token: str) -> Order: ...


class GateBatcher:
    """Reserves arriving while a gate call is in flight share the next one."""

    def __init__(self, gate: InventoryGate, max_batch: int = 500) -> None:
        self._gate = gate
        self._committer: GroupCommitter[GateStep, LotState] = GroupCommitter(
            self._flush, window_s=0, max_batch=max_batch
        )

    async def _flush(self, steps: Sequence[GateStep]) -> Sequence[StepResult]:
        return await self._gate.apply_many(steps)

    def start(self) -> None:
        self._committer.start()

    async def stop(self) -> None:
        await self._committer.stop()

    async def submit(self, step: GateStep) -> LotState:
        return await self._committer.submit(step)


class Placer:
    def __init__(
        self,
        *,
        store: NewOrders,
        gate: InventoryGate,
        sessions: SessionCache,
        tokens: OrderTokens,
        keeper: GateKeeper,
        sync: GateSync,
        hold_seconds: int,
        enabled_payments: Sequence[str] = (PaymentMethod.COD, PaymentMethod.BANK_TRANSFER),
        payments: PaymentHooks | None = None,
        on_order: OrderEvent | None = None,
        group_window_s: float = 0.002,
        group_max: int = 200,
        hold_policy: HoldPolicy | None = None,
        budget: BuyerBudget | None = None,
    ) -> None:
        self._store = store
        self._gate = gate
        self._sessions = sessions
        self._tokens = tokens
        self._keeper = keeper
        self._sync = sync
        self.hold_seconds = hold_seconds
        self.hold_policy = hold_policy or HoldPolicy(hold_seconds=hold_seconds)
        self.budget = budget
        # Lots whose last reservation here left them nearly sold out: shorter holds.
        self._nearly_sold_out: set[int] = set()
        # Requests being placed on this instance, by (session, key, body).
        self._placing: SingleFlight[tuple[int, str, str], Placed] = SingleFlight()
        self.enabled_payments = tuple(enabled_payments)
        self._payments = payments
        self._on_order = on_order
        self.writer: GroupCommitter[Order, Order | Duplicate] = GroupCommitter(
            self._insert_batch, window_s=group_window_s, max_batch=group_max
        )
        self.reserves = GateBatcher(gate)

    def start(self) -> None:
        self.writer.start()
        self.reserves.start()

    async def stop(self) -> None:
        await self.writer.stop()
        await self.reserves.stop()

    async def place(self, cmd: PlaceOrder) -> Placed:
        """Place an order, or replay the one an earlier request with this key placed.

        A concurrent retry of a request still being placed here waits for it (one
        placement, one budget spend) and gets the same order as a replay.
        """
        flight = (cmd.session_id, cmd.idempotency_key, cmd.request_hash)
        placed, shared = await self._placing.run(flight, lambda: self._place_once(cmd))
        return Placed(placed.order, placed.token, created=False) if shared else placed

    async def _place_once(self, cmd: PlaceOrder) -> Placed:
        try:
            return await self._place_new(cmd)
        except (SessionNotLive, SalePaused, SoldOut, BuyerLimitExceeded, InvalidInput):
            existing = await self._store.find_by_key(cmd.session_id, cmd.idempotency_key)
            if existing is None:
                raise
            return await self._resume_payment(self._replay(existing, cmd))

    async def _place_new(self, cmd: PlaceOrder) -> Placed:
        session = await self._sessions.get(cmd.session_id)
        offer = self._admissible(cmd, session)
        if self.budget is not None:  # every method: a COD order is unpaid until the door
            await self.budget.spend(cmd.client_ip, cmd.device, cmd.quantity * offer.pack_grams)
        order_id = str(
            uuid.uuid5(_ORDER_NS, f"{cmd.session_id}:{cmd.idempotency_key}:{cmd.request_hash}")
        )
        now = datetime.now(UTC)
        tight = offer.lot_id in self._nearly_sold_out
        hold_expires = now + timedelta(seconds=self.hold_policy.seconds(nearly_sold_out=tight))
        terms = await self._payment_terms(cmd, order_id, offer, now, hold_expires)
        order = self._new_order(cmd, offer, order_id, terms, now, hold_expires)
        # A COD order is sold once its row commits; until then the hold protects it, and
        # if this process dies before the commit the hold simply expires.
        await self._reserve(
            order, session.max_grams_per_buyer, terms.hold_expires_at or hold_expires
        )
        result = await self._record(order, cmd)
        if isinstance(result, Duplicate):
            return await self._replay_duplicate(order, cmd)
        self._sync.wake()
        if self._on_order is not None:
            await self._on_order(result)
        placed = Placed(result, self._tokens.token_for(result.id), created=True)
        return await self._resume_payment(placed)

    def _admissible(self, cmd: PlaceOrder, session: LiveSession) -> Offer:
        """The offer, if this order may be placed at all right now."""
        if not session.takes_orders:  # live, or ended with the sale kept open for the replay
            raise SessionNotLive(f"this live session is {session.status.value}: orders are closed")
        if session.sale_paused:
            raise SalePaused("the host paused the sale for a moment: try again shortly")
        offer = _offer(session, cmd.offer_id)
        if cmd.quantity > offer.max_per_order:
            raise InvalidInput(
                f"at most {offer.max_per_order} per order for this offer", field="quantity"
            )
        if cmd.payment_method not in self.enabled_payments:
            raise InvalidInput(
                f"payment method {cmd.payment_method!r} is not available here",
                field="payment_method",
            )
        if not self._keeper.ready:
            raise GateUnavailable("stock is being recounted; try again in a moment")
        return offer

    def _new_order(
        self,
        cmd: PlaceOrder,
        offer: Offer,
        order_id: str,
        terms: Terms,
        now: datetime,
        hold_expires: datetime,
    ) -> Order:
        cod = cmd.payment_method == PaymentMethod.COD
        address = cmd.buyer.address
        return Order(
            id=order_id,
            session_id=cmd.session_id,
            offer_id=offer.id,
            lot_id=offer.lot_id,
            idempotency_key=cmd.idempotency_key,
            request_hash=cmd.request_hash,
            token_hash=self._tokens.token_hash(self._tokens.token_for(order_id)),
            status=placing(cod).to,
            quantity=cmd.quantity,
            grams=cmd.quantity * offer.pack_grams,
            unit_price=offer.price,
            total=cmd.quantity * offer.price,
            currency=offer.currency,
            buyer_name=cmd.buyer.name,
            buyer_phone=cmd.buyer.phone,
            province_code=str(address.province_code),
            province_name=address.province_name,
            ward_code=None if address.ward_code is None else str(address.ward_code),
            ward_name=address.ward_name,
            street=address.street,
            address_match=address.match,
            address_typed=address.typed or None,
            payment_method=cmd.payment_method,
            payment_ref=terms.payment_ref,
            hold_expires_at=None if cod else (terms.hold_expires_at or hold_expires),
            created_at=now,
            updated_at=now,
            flags=terms.flags,
            code=new_code(),
        )

    async def _record(self, order: Order, cmd: PlaceOrder) -> Order | Duplicate:
        """The group commit; on failure the hold is released unless the row landed."""
        try:
            return await self.writer.submit(order)
        except SoldOut:
            await self._release_quietly(order.lot_id, order.id)
            raise
        except Exception as exc:
            log.exception("order insert failed")
            # The commit may have landed before the connection dropped: then the hold is
            # the order's and must stay (the retry with this key will replay it).
            try:
                landed = await self._store.find_by_key(cmd.session_id, cmd.idempotency_key)
            except Exception:
                landed = None
            if landed is None or landed.id != order.id:
                await self._release_quietly(order.lot_id, order.id)
            raise GateUnavailable("could not record the order; try again") from exc

    async def _replay_duplicate(self, order: Order, cmd: PlaceOrder) -> Placed:
        winner = await self._store.find_by_key(cmd.session_id, cmd.idempotency_key)
        if winner is None:  # pragma: no cover - the unique key was there a moment ago
            raise GateUnavailable("try again")
        # Our reserve made a new hold unless the winner is this very order, still held or
        # sold (then it was a no-op and releasing would free live stock).
        if winner.id != order.id or not (winner.is_held or winner.is_sold):
            await self._release_quietly(order.lot_id, order.id)
        return await self._resume_payment(self._replay(winner, cmd))

    async def _insert_batch(
        self, batch: Sequence[Order]
    ) -> Sequence[Order | Duplicate | BaseException]:
        """The group commit's flush: insert, and hand the new orders to the relay at once."""
        applied = self._sync.take_applied()
        try:
            results, outbox_ids = await self._store.insert_batch(batch, done_outbox=applied)
        except BaseException:
            self._sync.restore_applied(applied)
            raise
        self._sync.committed([r for r in results if isinstance(r, Order)], outbox_ids)
        return results

    async def _reserve(self, order: Order, cap: int | None, expires: datetime) -> None:
        step = GateStep(
            GateOp.RESERVE,
            order.lot_id,
            order.id,
            order.grams,
            order.buyer_phone,
            cap,
            expires.timestamp(),
        )
        for attempt in range(2):
            try:
                state = await self.reserves.submit(step)
                if self.hold_policy.nearly_sold_out(state.available_grams, state.stock_grams):
                    self._nearly_sold_out.add(order.lot_id)
                else:
                    self._nearly_sold_out.discard(order.lot_id)
                return
            except LotNotLoaded:
                if attempt or not await self._keeper.load_missing(order.lot_id):
                    raise

    async def _payment_terms(
        self, cmd: PlaceOrder, order_id: str, offer: Offer, now: datetime, hold_expires: datetime
    ) -> Terms:
        if self._payments is None:
            return Terms()
        draft = Draft(
            order_id=order_id,
            session_id=cmd.session_id,
            lot_id=offer.lot_id,
            quantity=cmd.quantity,
            unit_price=offer.price,
            total=cmd.quantity * offer.price,
            currency=offer.currency,
            created_at=now,
            hold_expires_at=hold_expires,
        )
        return await self._payments.terms(cmd.payment_method, draft)

    async def _resume_payment(self, placed: Placed) -> Placed:
        """Start (or, for a replayed request, resume) the order's payment with its provider."""
        if self._payments is None:
            return placed
        order = await self._payments.begin(placed.order, placed.token)
        return Placed(order, placed.token, placed.created)

    def _replay(self, existing: Order, cmd: PlaceOrder) -> Placed:
        if existing.request_hash != cmd.request_hash:
            raise IdempotencyMismatch("this Idempotency-Key was already used for a different order")
        return Placed(existing, self._tokens.token_for(existing.id), created=False)

    async def _release_quietly(self, lot_id: int, order_id: str) -> None:
        try:
            await self._gate.release(lot_id, order_id)
        except ShopError:
            log.warning("could not release hold %s; it will expire", order_id)


def _offer(session: LiveSession, offer_id: int) -> Offer:
    for offer in session.offers:
        if offer.id == offer_id:
            if not offer.active:
                raise InvalidInput("this offer is no longer on sale", field="offer_id")
            return offer
    raise InvalidInput("this offer is not part of this live session", field="offer_id")
