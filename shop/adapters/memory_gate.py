"""MemoryGate: the inventory gate inside one process (the embedded, single-instance default).

Atomicity without a lock: asyncio switches tasks only at an ``await``, and no method here
awaits anything, so each call runs from start to finish before any other task sees the
lot. That is the whole critical section. It only holds while every call comes from the
event loop's own thread; the gate is not thread-safe, and it must never grow an await in
the middle of an operation.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from shop.errors import GateUnavailable, LotNotLoaded, ShopError
from shop.gate import (
    MAX_LOT_ID,
    GateStep,
    Hold,
    LotSeed,
    LotState,
    below_committed,
    check_id,
    check_int,
    check_reserve,
    check_seed,
    not_sold,
    order_mismatch,
    over_buyer_cap,
    resolve_now,
    run_step,
    sold_out,
)


@dataclass(slots=True)
class _Lot:
    stock: int
    held: int = 0
    sold: int = 0
    holds: dict[str, Hold] = field(default_factory=dict)
    sales: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # grams, buyer
    used: dict[str, int] = field(default_factory=dict)  # buyer -> held + sold grams
    # (expires_at, order_id) min-heap; entries whose hold has gone are skipped when popped.
    expiries: list[tuple[float, str]] = field(default_factory=list)

    def state(self, lot_id: int) -> LotState:
        return LotState(lot_id, self.stock, self.held, self.sold)

    @property
    def available(self) -> int:
        return self.stock - self.held - self.sold

    def use(self, buyer: str | None, grams: int) -> None:
        if buyer is not None:
            left = self.used.get(buyer, 0) + grams
            if left:
                self.used[buyer] = left
            else:
                del self.used[buyer]

    def drop_hold(self, hold: Hold) -> None:
        del self.holds[hold.order_id]
        self.held -= hold.grams
        self.use(hold.buyer, -hold.grams)

    def purge(self, now: float) -> None:
        heap = self.expiries
        while heap and heap[0][0] <= now:
            at, order_id = heapq.heappop(heap)
            hold = self.holds.get(order_id)
            if hold is not None and hold.expires_at == at:
                self.drop_hold(hold)
        # Committed and released holds leave entries behind; keep the heap proportional.
        if len(heap) > 2 * len(self.holds) + 64:
            self.expiries = [
                (h.expires_at, h.order_id) for h in self.holds.values() if h.expires_at is not None
            ]
            heapq.heapify(self.expiries)


class MemoryGate:
    """InventoryGate held in this process's memory; lost (and rebuilt) on restart."""

    def __init__(self) -> None:
        self._lots: dict[int, _Lot] = {}
        self._epoch: str | None = None
        self._closed = False

    def _lot(self, lot_id: int, now: float) -> _Lot:
        if self._closed:
            raise GateUnavailable("the gate is closed")
        lot = self._lots.get(check_int("lot_id", lot_id, high=MAX_LOT_ID))
        if lot is None:
            raise LotNotLoaded(lot_id=lot_id)
        lot.purge(now)
        return lot

    async def load(self, seed: LotSeed) -> LotState:
        if self._closed:
            raise GateUnavailable("the gate is closed")
        check_seed(seed)
        lot = _Lot(seed.stock_grams)
        for hold in seed.holds:
            lot.holds[hold.order_id] = hold
            lot.held += hold.grams
            lot.use(hold.buyer, hold.grams)
            if hold.expires_at is not None:
                lot.expiries.append((hold.expires_at, hold.order_id))
        heapq.heapify(lot.expiries)
        for sale in seed.sales:
            lot.sales[sale.order_id] = (sale.grams, sale.buyer)
            lot.sold += sale.grams
            lot.use(sale.buyer, sale.grams)
        self._lots[seed.lot_id] = lot
        return lot.state(seed.lot_id)

    async def unload(self, lot_id: int) -> None:
        self._lots.pop(check_int("lot_id", lot_id, high=MAX_LOT_ID), None)

    async def reserve(
        self,
        lot_id: int,
        order_id: str,
        grams: int,
        *,
        buyer: str,
        buyer_cap_grams: int | None,
        expires_at: float | None,
        now: float | None = None,
    ) -> LotState:
        at = resolve_now(now)
        check_reserve(lot_id, order_id, grams, buyer, buyer_cap_grams, expires_at, at)
        lot = self._lot(lot_id, at)
        hold = lot.holds.get(order_id)
        if hold is not None:
            if hold.grams != grams or hold.buyer != buyer:
                raise order_mismatch(order_id)
            return lot.state(lot_id)
        sale = lot.sales.get(order_id)
        if sale is not None:
            if sale != (grams, buyer):
                raise order_mismatch(order_id)
            return lot.state(lot_id)
        if lot.available < grams:
            raise sold_out(lot.state(lot_id))
        used = lot.used.get(buyer, 0)
        if buyer_cap_grams is not None and used + grams > buyer_cap_grams:
            raise over_buyer_cap(lot_id, used, buyer_cap_grams)
        lot.holds[order_id] = Hold(order_id, grams, buyer, expires_at)
        lot.held += grams
        lot.use(buyer, grams)
        if expires_at is not None:
            heapq.heappush(lot.expiries, (expires_at, order_id))
        return lot.state(lot_id)

    async def commit(
        self,
        lot_id: int,
        order_id: str,
        grams: int,
        *,
        buyer: str | None = None,
        now: float | None = None,
    ) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        check_int("grams", grams)
        if buyer is not None:
            check_id("buyer", buyer)
        lot = self._lot(lot_id, at)
        sale = lot.sales.get(order_id)
        if sale is not None:
            if sale[0] != grams:
                raise order_mismatch(order_id)
            return lot.state(lot_id)
        hold = lot.holds.get(order_id)
        if hold is not None:
            if hold.grams != grams:
                raise order_mismatch(order_id)
            del lot.holds[order_id]
            lot.held -= grams
            lot.sold += grams
            lot.sales[order_id] = (grams, hold.buyer)
            return lot.state(lot_id)
        # The hold expired or was never taken here: the payment still gets stock if any
        # is left, so a late payer is refused only when the lot truly ran out.
        if lot.available < grams:
            raise sold_out(lot.state(lot_id))
        lot.sold += grams
        lot.sales[order_id] = (grams, buyer)
        lot.use(buyer, grams)
        return lot.state(lot_id)

    async def release(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        lot = self._lot(lot_id, at)
        hold = lot.holds.get(order_id)
        if hold is not None:
            lot.drop_hold(hold)
        elif (sale := lot.sales.pop(order_id, None)) is not None:
            lot.sold -= sale[0]
            lot.use(sale[1], -sale[0])
        return lot.state(lot_id)

    async def write_off(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        at = resolve_now(now)
        check_id("order_id", order_id)
        lot = self._lot(lot_id, at)
        if order_id in lot.holds:
            raise not_sold(order_id)
        sale = lot.sales.pop(order_id, None)
        if sale is not None:
            lot.sold -= sale[0]
            lot.stock -= sale[0]
            lot.use(sale[1], -sale[0])
        return lot.state(lot_id)

    async def apply_many(
        self, steps: Sequence[GateStep], *, now: float | None = None
    ) -> list[LotState | ShopError]:
        # No method awaits anything, so the whole batch runs before any other task.
        at = resolve_now(now)
        out: list[LotState | ShopError] = []
        for step in steps:
            try:
                out.append(await run_step(self, step, at))
            except ShopError as exc:
                out.append(exc)
        return out

    async def set_stock(
        self, lot_id: int, stock_grams: int, *, now: float | None = None
    ) -> LotState:
        at = resolve_now(now)
        check_int("stock_grams", stock_grams, low=0)
        lot = self._lot(lot_id, at)
        if stock_grams < lot.held + lot.sold:
            raise below_committed(lot.state(lot_id), stock_grams)
        lot.stock = stock_grams
        return lot.state(lot_id)

    async def snapshot(self, lot_id: int, *, now: float | None = None) -> LotState:
        return self._lot(lot_id, resolve_now(now)).state(lot_id)

    async def snapshot_many(
        self, lot_ids: Sequence[int], *, now: float | None = None
    ) -> list[LotState]:
        at = resolve_now(now)
        return [self._lot(lot_id, at).state(lot_id) for lot_id in lot_ids]

    async def epoch(self) -> str | None:
        # A fresh process starts with None, which is exactly right: its memory is empty,
        # so the owner rebuilds every lot from SQL before opening the gate.
        return self._epoch

    async def set_epoch(self, value: str, *, if_absent: bool = False) -> bool:
        check_id("epoch", value)
        if if_absent and self._epoch is not None:
            return False
        self._epoch = value
        return True

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._lots.clear()
