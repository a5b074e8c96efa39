"""GateSync: the outbox relay, which makes the gate follow SQL for every changed order.

Each committed change leaves an outbox row. Orders this process just placed are applied
straight from memory (the fast path: no read-back) and their outbox rows are deleted in
the next batch's transaction. Staff moves, payment events and expiry sync their orders
inline. Every second the relay also sweeps outbox rows older than 5 s (another instance
died before applying them, or an inline sync failed), reading each order's current status,
so a late or repeated apply is harmless (at-least-once). What an order in a status holds
(nothing, a hold, a sale, written off) is the lifecycle's `stock_of`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shop.errors import GateUnavailable, LotNotLoaded, ShopError
from shop.gate import GateOp, GateStep, InventoryGate
from shop.gate_keeper import GateKeeper
from shop.lifecycle import Stock, stock_of
from shop.orders import Order, OutboxEntry

log = logging.getLogger("farmlive.orders")

LotsChanged = Callable[[Sequence[int]], Awaitable[None]]

DRAIN_EVERY_S = 1.0
STALE_AFTER_S = 5.0


class SyncStore(Protocol):
    async def get_many(self, order_ids: Iterable[str]) -> dict[str, Order]: ...

    async def outbox_batch(
        self, older_than: datetime | None, limit: int = 500
    ) -> list[OutboxEntry]: ...

    async def outbox_done(self, ids: Sequence[int]) -> None: ...


def follow_step(order: Order, now: float) -> GateStep | None:
    """The gate operation that puts the gate where this order's status says it stands
    (None: a hold that has already run out needs nothing)."""
    stock = stock_of(order.status)
    if stock is Stock.SOLD:
        return GateStep(GateOp.COMMIT, order.lot_id, order.id, order.grams, order.buyer_phone)
    if stock is Stock.HELD:
        expires = order.hold_expires_at.timestamp() if order.hold_expires_at else None
        if expires is not None and expires <= now:
            return None
        return GateStep(
            GateOp.RESERVE, order.lot_id, order.id, order.grams, order.buyer_phone, None, expires
        )
    if stock is Stock.GONE:
        return GateStep(GateOp.WRITE_OFF, order.lot_id, order.id)
    return GateStep(GateOp.RELEASE, order.lot_id, order.id)


class GateSync:
    def __init__(
        self,
        gate: InventoryGate,
        store: SyncStore,
        keeper: GateKeeper,
        on_lots_changed: LotsChanged | None = None,
    ) -> None:
        self._gate = gate
        self._store = store
        self.keeper = keeper
        self._on_lots_changed = on_lots_changed
        self._fresh: list[Order] = []
        self._fresh_outbox: list[int] = []
        self._applied_outbox: list[int] = []
        self._changed_since_commit: set[str] = set()
        self._last_drain = 0.0
        self._wakeup = asyncio.Event()

    # -- the group commit's side ----------------------------------------------------
    def take_applied(self) -> list[int]:
        """Outbox rows already applied: the next batch's transaction deletes them."""
        done, self._applied_outbox = self._applied_outbox, []
        return done

    def restore_applied(self, ids: Sequence[int]) -> None:
        self._applied_outbox[:0] = ids  # not deleted: try again with the next batch

    def committed(self, orders: Sequence[Order], outbox_ids: Sequence[int]) -> None:
        """New orders are in SQL: apply them from memory at once."""
        if orders:
            self._fresh.extend(orders)
            self._fresh_outbox.extend(outbox_ids)
            self._wakeup.set()

    def wake(self) -> None:
        self._wakeup.set()

    # -- syncing --------------------------------------------------------------------
    async def sync(self, order_ids: Sequence[str]) -> set[int]:
        """Apply each order's current SQL status to the gate; returns the lots touched."""
        if self._fresh:
            self._changed_since_commit.update(order_ids)
        return await self.apply((await self._store.get_many(order_ids)).values())

    async def apply(self, orders: Iterable[Order]) -> set[int]:
        """Make the gate follow these orders' statuses (one batched gate call)."""
        now = time.time()
        batch = list(orders)
        steps = [s for s in (follow_step(o, now) for o in batch) if s is not None]
        results = await self._gate.apply_many(steps, now=now) if steps else []
        for step, result in zip(steps, results, strict=True):
            if isinstance(result, (GateUnavailable, LotNotLoaded)):
                raise result
            if isinstance(result, ShopError):
                # SQL is the record; the gate will be reconciled on its next rebuild.
                log.warning("gate could not follow order %s: %s", step.order_id, result)
        touched = {o.lot_id for o in batch}
        if touched and self._on_lots_changed is not None:
            await self._on_lots_changed(sorted(touched))
        return touched

    async def drain_outbox(self, older_than: datetime | None = None) -> int:
        """Apply and delete pending outbox rows; returns how many were applied."""
        applied = 0
        while True:
            batch = await self._store.outbox_batch(older_than)
            if not batch:
                return applied
            await self.sync([entry.order_id for entry in batch])
            await self._store.outbox_done([entry.id for entry in batch])
            applied += len(batch)

    async def step(self) -> None:
        """One relay step: fresh orders from memory, then (each second) the stale outbox."""
        if self._fresh:
            fresh, self._fresh = self._fresh, []
            done, self._fresh_outbox = self._fresh_outbox, []
            changed, self._changed_since_commit = self._changed_since_commit, set()
            # An order a transition already synced keeps its newer state.
            await self.apply(o for o in fresh if o.id not in changed)
            self._applied_outbox.extend(done)
        if time.monotonic() - self._last_drain >= DRAIN_EVERY_S:
            self._last_drain = time.monotonic()
            if self._applied_outbox:
                await self._store.outbox_done(self.take_applied())
            await self.drain_outbox(datetime.now(UTC) - timedelta(seconds=STALE_AFTER_S))

    async def run(self, stopping: asyncio.Event) -> None:
        """The relay loop: wakes on new orders, or every half second."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=0.5)
            except TimeoutError:
                pass
            if stopping.is_set():
                return
            self._wakeup.clear()
            try:
                await self.step()
            except (GateUnavailable, LotNotLoaded):
                self.keeper.mark_unready()
                await _pause(stopping, 0.5)
            except Exception:
                log.exception("outbox relay failed; retrying")
                await _pause(stopping, 1.0)


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    except TimeoutError:
        pass
