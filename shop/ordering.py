"""OrderService: the order path. The gate admits, SQL records, the outbox makes them agree.

1. The gate reserves the grams (atomic per lot; idempotent per order id).
2. The order row and an outbox row are committed together, in a group commit; orders
   born sold (cash on delivery) pass the SQL backstop in that same transaction.
3. The outbox relay then makes the gate match SQL for each changed order ("sync":
   sold -> commit, held -> ensure reserved, released -> release), at least once.
   Syncs read the order's current status, so a late or repeated sync is harmless.
Holds expire lazily in the gate and, for SQL, through the sweeper.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shop.catalogue import LiveSession, Offer
from shop.errors import (
    BuyerLimitExceeded,
    GateUnavailable,
    IdempotencyMismatch,
    InvalidInput,
    InvalidTransition,
    LotNotLoaded,
    NotFound,
    OrderChangedMeanwhile,
    SessionNotLive,
    ShopError,
    SoldOut,
)
from shop.gate import InventoryGate
from shop.group_commit import GroupCommitter
from shop.lifecycle import (
    NOOP,
    REFUSED,
    Event,
    Move,
    Stock,
    outcome,
    placing,
    sells,
    stock_of,
)
from shop.order_code import new_code
from shop.orders import Duplicate, Order, OrderStore, PaymentMethod, PlaceOrder, Transitioned
from shop.payments.port import Draft, Terms
from shop.payments.service import PaymentService

log = logging.getLogger("farmlive.orders")

_ORDER_NS = uuid.UUID("6f1c3c52-5a0b-4d8e-9b1e-0d3c1f0e4a11")

LotsChanged = Callable[[Sequence[int]], Awaitable[None]]
OrderEvent = Callable[[Order], Awaitable[None]]


class SessionSource(Protocol):
    async def get_session(self, session_id: int) -> LiveSession: ...


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    token: str
    created: bool


class OrderService:
    def __init__(
        self,
        *,
        store: OrderStore,
        sessions: SessionSource,
        gate: InventoryGate,
        token_secret: bytes,
        hold_seconds: int,
        group_window_s: float = 0.002,
        group_max: int = 200,
        sweep_interval_s: float = 1.0,
        on_lots_changed: LotsChanged | None = None,
        on_order: OrderEvent | None = None,
        enabled_payments: Sequence[str] = (PaymentMethod.COD, PaymentMethod.BANK_TRANSFER),
        payments: PaymentService | None = None,
    ) -> None:
        self.store = store
        self.gate = gate
        self._sessions = sessions
        self._secret = token_secret
        self.hold_seconds = hold_seconds
        self._sweep_interval = sweep_interval_s
        self._on_lots_changed = on_lots_changed
        self._on_order = on_order
        self.enabled_payments = tuple(enabled_payments)
        # Providers per payment method (terms, checkout, view); None: the built-in defaults.
        self.payments = payments
        self._writer: GroupCommitter[dict[str, Any], Order | Duplicate] = GroupCommitter(
            self._insert_batch, window_s=group_window_s, max_batch=group_max
        )
        # Orders this process just committed, to apply to the gate without reading them
        # back, and the outbox rows already applied, deleted with the next batch.
        self._fresh: list[Order] = []
        self._fresh_outbox: list[int] = []
        self._applied_outbox: list[int] = []
        self._changed_since_commit: set[str] = set()
        self._last_drain = 0.0
        self._session_cache: dict[int, tuple[float, LiveSession]] = {}
        self._session_loads: dict[int, asyncio.Future[LiveSession]] = {}
        self._session_gen: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sync_wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._epoch: str | None = None
        self._ready = False
        self._rebuild_lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        await self.rebuild_all()
        self._start_tasks()

    async def start_degraded(self) -> None:
        """Start with the gate closed; the epoch watcher opens it once the store answers."""
        self._ready = False
        self._start_tasks()

    def _start_tasks(self) -> None:
        self._writer.start()
        self._tasks = [
            asyncio.create_task(self._outbox_loop(), name="orders-outbox"),
            asyncio.create_task(self._sweep_loop(), name="orders-sweeper"),
            asyncio.create_task(self._epoch_loop(), name="orders-epoch"),
        ]

    async def stop(self) -> None:
        """Stop the loops between steps (a step cut in half mid-query would leave the SQL
        connection broken at shutdown); cancel any that overrun a short grace period."""
        await self._writer.stop()
        self._stopping.set()
        self._sync_wakeup.set()
        _, late = await asyncio.wait(self._tasks, timeout=2.0) if self._tasks else ((), ())
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the service stops."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    @property
    def ready(self) -> bool:
        return self._ready

    # -- sessions -------------------------------------------------------------------
    async def session(self, session_id: int) -> LiveSession:
        """The session, cached for a second: staff changes on this instance invalidate it."""
        cached = self._session_cache.get(session_id)
        if cached and time.monotonic() - cached[0] < 1.0:
            return cached[1]
        # One read per expiry, however many orders arrive meanwhile: they all wait on it.
        loading = self._session_loads.get(session_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load_session(session_id))
            self._session_loads[session_id] = loading
            loading.add_done_callback(lambda _: self._session_loads.pop(session_id, None))
        return await asyncio.shield(loading)

    async def _load_session(self, session_id: int) -> LiveSession:
        started, generation = time.monotonic(), self._session_gen.get(session_id, 0)
        session = await self._sessions.get_session(session_id)
        if self._session_gen.get(session_id, 0) == generation:  # not changed meanwhile
            self._session_cache[session_id] = (started, session)
        return session

    def forget_session(self, session_id: int) -> None:
        self._session_gen[session_id] = self._session_gen.get(session_id, 0) + 1
        self._session_cache.pop(session_id, None)
        self._session_loads.pop(session_id, None)

    # -- tokens ---------------------------------------------------------------------
    def token_for(self, order_id: str) -> str:
        digest = hmac.new(self._secret, order_id.encode(), hashlib.sha256).digest()
        return digest[:24].hex()

    @staticmethod
    def token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    async def get_for_buyer(self, order_id: str, token: str) -> Order:
        try:
            order = await self.store.get(order_id)
        except NotFound:
            raise NotFound("no such order") from None
        if not hmac.compare_digest(order.token_hash, self.token_hash(token)):
            raise NotFound("no such order")  # do not reveal that the id exists
        return order

    # -- placing --------------------------------------------------------------------
    async def place(self, cmd: PlaceOrder) -> Placed:
        """Place an order, or replay the one an earlier request with this key placed.

        No idempotency read up front (it would cost every order a SQL round trip): the
        order id is derived from (session, key, body), the gate's reserve is idempotent
        per order id and the insert skips a used key, so a retry lands on the first order
        in the Duplicate branch below. Refusals check for an earlier order before they
        answer, so a replay after the sale closed or sold out still gets its order.
        """
        try:
            return await self._place_new(cmd)
        except (SessionNotLive, SoldOut, BuyerLimitExceeded, InvalidInput):
            existing = await self.store.find_by_key(cmd.session_id, cmd.idempotency_key)
            if existing is None:
                raise
            return await self._resume_payment(self._replay(existing, cmd))

    async def _place_new(self, cmd: PlaceOrder) -> Placed:
        session = await self.session(cmd.session_id)
        if not session.is_live:
            raise SessionNotLive(f"this live session is {session.status.value}: orders are closed")
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
        if not self._ready:
            raise GateUnavailable("stock is being recounted; try again in a moment")
        grams = cmd.quantity * offer.pack_grams
        order_id = str(
            uuid.uuid5(_ORDER_NS, f"{cmd.session_id}:{cmd.idempotency_key}:{cmd.request_hash}")
        )
        now = datetime.now(UTC)
        cod = cmd.payment_method == PaymentMethod.COD
        hold_expires = now + timedelta(seconds=self.hold_seconds)
        terms = await self._payment_terms(cmd, order_id, offer, now, hold_expires)
        hold_expires = terms.hold_expires_at or hold_expires
        # A COD order is sold once its row commits; until then the hold protects it, and
        # if this process dies before the commit the hold simply expires.
        await self._reserve(
            offer.lot_id,
            order_id,
            grams,
            cmd.buyer.phone,
            session.max_grams_per_buyer,
            hold_expires.timestamp(),
        )
        address = cmd.buyer.address
        row: dict[str, Any] = {
            "id": order_id,
            "session_id": cmd.session_id,
            "offer_id": offer.id,
            "lot_id": offer.lot_id,
            "idempotency_key": cmd.idempotency_key,
            "request_hash": cmd.request_hash,
            "token_hash": self.token_hash(self.token_for(order_id)),
            "code": new_code(),
            "status": placing(cod).to.value,
            "quantity": cmd.quantity,
            "grams": grams,
            "unit_price": offer.price,
            "total": cmd.quantity * offer.price,
            "currency": offer.currency,
            "buyer_name": cmd.buyer.name,
            "buyer_phone": cmd.buyer.phone,
            "province_code": str(address.province_code),
            "province_name": address.province_name,
            "ward_code": None if address.ward_code is None else str(address.ward_code),
            "ward_name": address.ward_name,
            "street": address.street,
            "payment_method": cmd.payment_method,
            "payment_ref": terms.payment_ref,
            "hold_expires_at": None if cod else hold_expires,
            "created_at": now,
            "updated_at": now,
            "flags": terms.flags,
        }
        try:
            result = await self._writer.submit(row)
        except SoldOut:
            await self._release_quietly(offer.lot_id, order_id)
            raise
        except Exception as exc:
            log.exception("order insert failed")
            # The commit may have landed before the connection dropped: then the hold is
            # the order's and must stay (the retry with this key will replay it).
            try:
                landed = await self.store.find_by_key(cmd.session_id, cmd.idempotency_key)
            except Exception:
                landed = None
            if landed is None or landed.id != order_id:
                await self._release_quietly(offer.lot_id, order_id)
            raise GateUnavailable("could not record the order; try again") from exc
        if isinstance(result, Duplicate):
            winner = await self.store.find_by_key(cmd.session_id, cmd.idempotency_key)
            if winner is None:  # pragma: no cover - the unique key was there a moment ago
                raise GateUnavailable("try again")
            # Our reserve made a new hold unless the winner is this very order, still
            # held or sold (then it was a no-op and releasing would free live stock).
            if winner.id != order_id or not (winner.is_held or winner.is_sold):
                await self._release_quietly(offer.lot_id, order_id)
            return await self._resume_payment(self._replay(winner, cmd))
        self._sync_wakeup.set()
        if self._on_order is not None:
            await self._on_order(result)
        return await self._resume_payment(Placed(result, self.token_for(result.id), created=True))

    # -- payments (shop/payments) ---------------------------------------------------
    async def _payment_terms(
        self, cmd: PlaceOrder, order_id: str, offer: Offer, now: datetime, hold_expires: datetime
    ) -> Terms:
        if self.payments is None:
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
        return await self.payments.terms(cmd.payment_method, draft)

    async def _resume_payment(self, placed: Placed) -> Placed:
        """Start (or, for a replayed request, resume) the order's payment with its provider."""
        if self.payments is None:
            return placed
        order = await self.payments.begin(placed.order, placed.token)
        return Placed(order, placed.token, placed.created)

    async def sync_gate(self, order_ids: Sequence[str]) -> set[int]:
        """Make the gate follow SQL for these orders now (after a payment event)."""
        return await self._sync(order_ids)

    def _replay(self, existing: Order, cmd: PlaceOrder) -> Placed:
        if existing.request_hash != cmd.request_hash:
            raise IdempotencyMismatch("this Idempotency-Key was already used for a different order")
        return Placed(existing, self.token_for(existing.id), created=False)

    async def _reserve(
        self, lot_id: int, order_id: str, grams: int, buyer: str, cap: int | None, expires: float
    ) -> None:
        for attempt in range(2):
            try:
                await self.gate.reserve(
                    lot_id, order_id, grams, buyer=buyer, buyer_cap_grams=cap, expires_at=expires
                )
                return
            except LotNotLoaded:
                if attempt or not await self._load_missing_lot(lot_id):
                    raise

    async def _load_missing_lot(self, lot_id: int) -> bool:
        """A lot missing from the gate: if the store lost everything, rebuild all (503)."""
        epoch = await self.gate.epoch()
        if epoch is None or epoch != self._epoch:
            self._schedule_rebuild()
            return False
        await self._load_if_missing(lot_id)
        return True

    async def _load_if_missing(self, lot_id: int) -> None:
        """Load a lot the gate does not have; never overwrite one it has (live holds)."""
        async with self._rebuild_lock:
            try:
                await self.gate.snapshot(lot_id)
                return
            except LotNotLoaded:
                pass
            await self.gate.load(await self.store.lot_seed(lot_id, datetime.now(UTC)))

    async def lot_added(self, lot_id: int) -> None:
        """Load a new lot into the gate at once (a missing lot is also loaded on demand)."""
        try:
            await self._load_if_missing(lot_id)
        except GateUnavailable:
            log.warning("gate unavailable; lot %s will be loaded on first use", lot_id)

    async def _release_quietly(self, lot_id: int, order_id: str) -> None:
        try:
            await self.gate.release(lot_id, order_id)
        except ShopError:
            log.warning("could not release hold %s; it will expire", order_id)

    # -- staff transitions ----------------------------------------------------------
    async def confirm(self, order_id: str, actor_id: int | None) -> Order:
        """COD: placed -> confirmed. Transfer/card: pending (or expired) -> paid. Idempotent."""
        return await self.apply(order_id, Event.CONFIRM, actor_id, "order.confirm", "confirmed")

    async def cancel(self, order_id: str, actor_id: int | None) -> Order:
        """Cancel and give the stock back; cancelling twice is a no-op."""
        return await self.apply(order_id, Event.CANCEL, actor_id, "order.cancel", "cancelled")

    async def apply(
        self, order_id: str, event: Event, actor_id: int | None, action: str, verb: str
    ) -> Order:
        """Move an order as the lifecycle says for `event`, SQL and gate alike.

        A move that sells asks the gate first, so a late payment gets its stock or a
        clear refusal (SQL's backstop counts sales only, the gate counts holds too).
        """
        order = await self.store.get(order_id)
        answer = outcome(order.status, event)
        if answer is NOOP:
            return order
        if answer is REFUSED:
            raise InvalidTransition(f"a {order.status.value} order cannot be {verb}")
        assert isinstance(answer, Move)
        gate_first = sells(order.status, event)
        if gate_first:
            await self.gate.commit(order.lot_id, order.id, order.grams, buyer=order.buyer_phone)
        try:
            moved = await self._transition(order_id, event, actor_id, action)
        except SoldOut:
            if gate_first:
                # The gate sold it but SQL refused: take the sale back out of the gate (the
                # re-sync alone would find it "already sold" and leave it there).
                await self._release_quietly(order.lot_id, order.id)
                await self._sync([order_id])
            raise
        if moved.refused:
            if gate_first:
                await self._sync([order_id])
            raise InvalidTransition(f"a {moved.order.status.value} order cannot be {verb}")
        return moved.order

    async def _transition(
        self, order_id: str, event: Event, actor_id: int | None, action: str
    ) -> Transitioned:
        for _ in range(5):
            try:
                moved = await self.store.transition(
                    order_id, event, actor_id=actor_id, action=action
                )
            except OrderChangedMeanwhile:
                continue
            if moved.changed:
                await self._sync([order_id])
            return moved
        raise GateUnavailable("the order is busy; try again")

    # -- the outbox relay: make the gate match SQL ----------------------------------
    async def _insert_batch(
        self, rows: Sequence[dict[str, Any]]
    ) -> Sequence[Order | Duplicate | BaseException]:
        """The group commit's flush: insert, and hand the new orders to the relay at once."""
        applied, self._applied_outbox = self._applied_outbox, []
        try:
            results, outbox_ids = await self.store.insert_batch(rows, done_outbox=applied)
        except BaseException:
            self._applied_outbox[:0] = applied  # not deleted: try again with the next batch
            raise
        fresh = [r for r in results if isinstance(r, Order)]
        if fresh:
            self._fresh.extend(fresh)
            self._fresh_outbox.extend(outbox_ids)
            self._sync_wakeup.set()
        return results

    async def _sync(self, order_ids: Sequence[str]) -> set[int]:
        """Apply each order's current SQL status to the gate; returns the lots touched."""
        if self._fresh:
            self._changed_since_commit.update(order_ids)
        return await self._apply((await self.store.get_many(order_ids)).values())

    async def _apply(self, orders: Iterable[Order]) -> set[int]:
        """Make the gate follow these orders' statuses; returns the lots touched."""
        touched: set[int] = set()
        for order in orders:
            touched.add(order.lot_id)
            try:
                await self._follow(order)
            except (SoldOut, BuyerLimitExceeded, InvalidTransition, InvalidInput) as exc:
                # SQL is the record; the gate will be reconciled on its next rebuild.
                log.warning("gate could not follow order %s (%s): %s", order.id, order.status, exc)
        if touched and self._on_lots_changed is not None:
            await self._on_lots_changed(sorted(touched))
        return touched

    async def _follow(self, order: Order) -> None:
        """Put the gate where the lifecycle says an order in this status stands."""
        stock = stock_of(order.status)
        if stock is Stock.SOLD:
            await self.gate.commit(order.lot_id, order.id, order.grams, buyer=order.buyer_phone)
        elif stock is Stock.HELD:
            expires = order.hold_expires_at.timestamp() if order.hold_expires_at else None
            if expires is None or expires > time.time():
                await self.gate.reserve(
                    order.lot_id,
                    order.id,
                    order.grams,
                    buyer=order.buyer_phone,
                    buyer_cap_grams=None,
                    expires_at=expires,
                )
        elif stock is Stock.GONE:
            await self.gate.write_off(order.lot_id, order.id)
        else:
            await self.gate.release(order.lot_id, order.id)

    async def drain_outbox(self, older_than: datetime | None = None) -> int:
        """Apply and delete pending outbox rows; returns how many were applied."""
        applied = 0
        while True:
            batch = await self.store.outbox_batch(older_than)
            if not batch:
                return applied
            await self._sync([payload["order_id"] for _, payload in batch])
            await self.store.outbox_done([row_id for row_id, _ in batch])
            applied += len(batch)

    async def _outbox_loop(self) -> None:
        """Apply fresh orders from memory at once; every second, sweep up older outbox rows
        (another instance's that died before applying them, or ours from transitions,
        which were applied inline) by reading their orders' current status."""
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._sync_wakeup.wait(), timeout=0.5)
            except TimeoutError:
                pass
            if self._stopping.is_set():
                return
            self._sync_wakeup.clear()
            try:
                if self._fresh:
                    fresh, self._fresh = self._fresh, []
                    done, self._fresh_outbox = self._fresh_outbox, []
                    changed, self._changed_since_commit = self._changed_since_commit, set()
                    # An order a transition already synced keeps its newer state.
                    await self._apply(o for o in fresh if o.id not in changed)
                    self._applied_outbox.extend(done)
                if time.monotonic() - self._last_drain >= 1.0:
                    self._last_drain = time.monotonic()
                    if self._applied_outbox:
                        done, self._applied_outbox = self._applied_outbox, []
                        await self.store.outbox_done(done)
                    await self.drain_outbox(datetime.now(UTC) - timedelta(seconds=5))
            except (GateUnavailable, LotNotLoaded):
                self._schedule_rebuild()
                await self._pause(0.5)
            except Exception:
                log.exception("outbox relay failed; retrying")
                await self._pause(1)

    # -- hold expiry ----------------------------------------------------------------
    async def sweep(self) -> list[str]:
        expired = await self.store.expire_due(datetime.now(UTC))
        if expired:
            await self._sync(expired)
        return expired

    async def _sweep_loop(self) -> None:
        while not self._stopping.is_set():
            await self._pause(self._sweep_interval)
            if self._stopping.is_set():
                return
            try:
                await self.sweep()
            except Exception:
                log.exception("hold sweeper failed; retrying")

    # -- rebuilding the gate from SQL -----------------------------------------------
    async def rebuild_all(self) -> None:
        """Open the gate: adopt the store's valid epoch, or (data lost) reload from SQL.

        Reloading rewrites whole lots, which would erase holds other requests or
        instances are placing right now; so it happens only when the store has no valid
        epoch (a fresh memory gate, a flushed or restarted Redis), never merely because
        this process started or saw a passing error.
        """
        async with self._rebuild_lock:
            current = await self.gate.epoch()
            if current is not None:
                self._epoch, self._ready = current, True
                return
            self._ready = False
            try:
                now = datetime.now(UTC)
                for lot_id in await self.store.lot_ids():
                    if await self.gate.epoch() is not None:
                        break  # another instance finished the rebuild meanwhile: adopt it
                    await self.gate.load(await self.store.lot_seed(lot_id, now))
                epoch = uuid.uuid4().hex
                if not await self.gate.set_epoch(epoch, if_absent=True):
                    epoch = await self.gate.epoch() or epoch
                self._epoch = epoch
                self._ready = True
                log.info("inventory gate rebuilt from SQL (epoch %s)", epoch)
            except ShopError:
                log.warning("inventory gate unavailable; will retry the rebuild")
                raise

    def _schedule_rebuild(self) -> None:
        self._ready = False

    async def _epoch_loop(self) -> None:
        """Notice a store that lost its data (restart without AOF, FLUSHALL) and rebuild."""
        while not self._stopping.is_set():
            await self._pause(0.5)
            if self._stopping.is_set():
                return
            try:
                if await self.gate.epoch() != self._epoch or not self._ready:
                    await self.rebuild_all()
            except ShopError:
                self._ready = False
            except Exception:
                self._ready = False
                log.exception("gate epoch check failed")


def _offer(session: LiveSession, offer_id: int) -> Offer:
    for offer in session.offers:
        if offer.id == offer_id:
            if not offer.active:
                raise InvalidInput("this offer is no longer on sale", field="offer_id")
            return offer
    raise InvalidInput("this offer is not part of this live session", field="offer_id")
