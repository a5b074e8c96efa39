"""The inventory gate: atomic admission control for a lot's grams during a live sale.

SQL is the system of record; the gate only decides, fast and atomically, whether an order
may take stock. Its state per lot is rebuildable from SQL at any time (`load`), so an
adapter that loses its data says so per lot (`LotNotLoaded`) instead of guessing.

Accounting per lot, after every operation: ``available + held + sold == stock``,
``0 <= sold <= stock``, nothing negative. A hold expires lazily: once ``now >=
expires_at`` it no longer counts, and the next operation on the lot purges it.

Every operation is idempotent per order id, so a caller may retry any of them after a
timeout without knowing whether the first attempt landed.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shop.errors import (
    BuyerLimitExceeded,
    Conflict,
    InvalidInput,
    InvalidTransition,
    ShopError,
    SoldOut,
)

# Bounds shared with the Lua scripts (redis_gate.py repeats them): 10**12 g is a million
# tonnes, far above any lot, and sums of such values stay exact in a Lua double (2**53).
MAX_GRAMS = 10**12
MAX_LOT_ID = 2**63 - 1
MAX_ID_BYTES = 128
# Unix seconds; anything past year 5138 is a unit mistake (milliseconds), not a date.
MAX_TIMESTAMP = 1e11


@dataclass(frozen=True, slots=True)
class LotState:
    """A lot's grams as the gate sees them right now."""

    lot_id: int
    stock_grams: int
    held_grams: int
    sold_grams: int

    @property
    def available_grams(self) -> int:
        return self.stock_grams - self.held_grams - self.sold_grams


@dataclass(frozen=True, slots=True)
class Hold:
    """A pending order's reservation, as rebuilt from SQL."""

    order_id: str
    grams: int
    buyer: str
    expires_at: float | None = None  # unix seconds; None never expires


@dataclass(frozen=True, slots=True)
class Sale:
    """A sold (paid or confirmed) order, as rebuilt from SQL.

    The buyer travels with it so that releasing it later gives the buyer's allowance back.
    """

    order_id: str
    grams: int
    buyer: str


@dataclass(frozen=True, slots=True)
class LotSeed:
    """Everything needed to rebuild one lot's gate state from the system of record."""

    lot_id: int
    stock_grams: int
    holds: Sequence[Hold] = field(default_factory=tuple)
    sales: Sequence[Sale] = field(default_factory=tuple)


class GateOp(enum.StrEnum):
    RESERVE = "reserve"
    COMMIT = "commit"
    RELEASE = "release"
    WRITE_OFF = "write_off"


@dataclass(frozen=True, slots=True)
class GateStep:
    """One operation of a batch (`apply_many`), with the same arguments as its method."""

    op: GateOp
    lot_id: int
    order_id: str
    grams: int = 0  # reserve, commit
    buyer: str | None = None  # reserve (required), commit (optional)
    buyer_cap_grams: int | None = None  # reserve
    expires_at: float | None = None  # reserve


StepResult = LotState | ShopError


class InventoryGate(Protocol):
    """Atomic per-lot stock admission; implemented by MemoryGate and RedisGate.

    Every method accepts ``now`` (unix seconds) so tests control time; None means the
    real clock. Raises `LotNotLoaded` for a lot the gate holds no state for and
    `GateUnavailable` when the backing store cannot answer: both are retryable.
    """

    async def load(self, seed: LotSeed) -> LotState:
        """Replace one lot's whole state with `seed`, atomically."""
        ...

    async def unload(self, lot_id: int) -> None:
        """Forget a lot (its sale is over); idempotent."""
        ...

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
        """Hold `grams` for a pending order, or raise SoldOut / BuyerLimitExceeded.

        Idempotent: reserving an order id that is already held or sold changes nothing;
        the same id with other grams or another buyer raises InvalidInput.
        """
        ...

    async def commit(
        self,
        lot_id: int,
        order_id: str,
        grams: int,
        *,
        buyer: str | None = None,
        now: float | None = None,
    ) -> LotState:
        """Turn the order's hold into a sale; idempotent.

        A missing or expired hold takes the grams from what is available (a late payment
        still gets its stock) or raises SoldOut; never oversells. `buyer` is only used in
        that case, to count the grams against the buyer's allowance.
        """
        ...

    async def release(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        """Give a held or sold order's grams back to available (and to the buyer's cap)."""
        ...

    async def write_off(self, lot_id: int, order_id: str, *, now: float | None = None) -> LotState:
        """Remove a refunded sale from stock without restocking it; idempotent.

        Raises InvalidTransition when the order is only held (not sold).
        """
        ...

    async def apply_many(
        self, steps: Sequence[GateStep], *, now: float | None = None
    ) -> list[StepResult]:
        """Run several operations in order, as if called one by one at `now`, in one go
        (Redis: one script call per lot, all in one round trip).

        Per step: the lot's state after it, or the error its method would have raised
        (SoldOut, BuyerLimitExceeded, InvalidInput, InvalidTransition, LotNotLoaded); a
        refused step changes nothing and the others still run. Raises GateUnavailable
        only when the store cannot answer at all.
        """
        ...

    async def set_stock(
        self, lot_id: int, stock_grams: int, *, now: float | None = None
    ) -> LotState:
        """Change the lot size; raises Conflict below held + sold."""
        ...

    async def snapshot(self, lot_id: int, *, now: float | None = None) -> LotState:
        """The lot's current state, expired holds excluded."""
        ...

    async def snapshot_many(
        self, lot_ids: Sequence[int], *, now: float | None = None
    ) -> list[LotState]:
        """Several lots' states in one go, in the order asked."""
        ...

    async def epoch(self) -> str | None:
        """The store's epoch marker; None means its data was lost (or never seeded)."""
        ...

    async def set_epoch(self, value: str, *, if_absent: bool = False) -> bool:
        """Set the epoch marker after a rebuild; False if `if_absent` and one exists."""
        ...

    async def ping(self) -> bool:
        """True when the gate can answer (readiness)."""
        ...

    async def close(self) -> None:
        """Release the gate's resources."""
        ...


async def run_step(gate: InventoryGate, step: GateStep, now: float) -> LotState:
    """One batch step through the gate's own method (MemoryGate's whole batch)."""
    if step.op is GateOp.RESERVE:
        return await gate.reserve(
            step.lot_id,
            step.order_id,
            step.grams,
            buyer=step.buyer if step.buyer is not None else "",
            buyer_cap_grams=step.buyer_cap_grams,
            expires_at=step.expires_at,
            now=now,
        )
    if step.op is GateOp.COMMIT:
        return await gate.commit(step.lot_id, step.order_id, step.grams, buyer=step.buyer, now=now)
    if step.op is GateOp.RELEASE:
        return await gate.release(step.lot_id, step.order_id, now=now)
    return await gate.write_off(step.lot_id, step.order_id, now=now)


# Validation shared by every adapter, so both refuse exactly the same inputs.


def check_int(name: str, value: object, *, low: int = 1, high: int = MAX_GRAMS) -> int:
    # bool is an int subclass; True grams is a bug, not one gram.
    if type(value) is not int or not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer in {low}..{high}", field=name)
    return value


def check_id(name: str, value: object) -> str:
    if isinstance(value, str) and value:
        try:
            # Bytes, not characters: that is what Redis stores and the scripts bound.
            if len(value.encode()) <= MAX_ID_BYTES:
                return value
        except UnicodeEncodeError:  # a lone surrogate cannot reach Redis at all
            pass
    raise InvalidInput(f"{name} must be 1..{MAX_ID_BYTES} bytes of UTF-8 text", field=name)


def check_time(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_TIMESTAMP
    ):
        raise InvalidInput(f"{name} must be unix seconds", field=name)
    return float(value)


def resolve_now(now: float | None) -> float:
    return time.time() if now is None else check_time("now", now)


def check_reserve(
    lot_id: int,
    order_id: str,
    grams: int,
    buyer: str,
    buyer_cap_grams: int | None,
    expires_at: float | None,
    now: float,
) -> None:
    check_int("lot_id", lot_id, high=MAX_LOT_ID)
    check_id("order_id", order_id)
    check_int("grams", grams)
    check_id("buyer", buyer)
    if buyer_cap_grams is not None:
        check_int("buyer_cap_grams", buyer_cap_grams)
    if expires_at is not None and check_time("expires_at", expires_at) <= now:
        raise InvalidInput("expires_at is already past", field="expires_at")


def check_step(step: GateStep, now: float) -> None:
    """Validate one batch step as its own method would."""
    check_int("lot_id", step.lot_id, high=MAX_LOT_ID)
    if step.op is GateOp.RESERVE:
        buyer = step.buyer if step.buyer is not None else ""
        check_reserve(
            step.lot_id,
            step.order_id,
            step.grams,
            buyer,
            step.buyer_cap_grams,
            step.expires_at,
            now,
        )
        return
    check_id("order_id", step.order_id)
    if step.op is GateOp.COMMIT:
        check_int("grams", step.grams)
        if step.buyer is not None:
            check_id("buyer", step.buyer)
    elif step.op not in (GateOp.RELEASE, GateOp.WRITE_OFF):
        raise InvalidInput("unknown gate operation", field="op")


def check_seed(seed: LotSeed) -> None:
    """Refuse a seed that could not be a real lot: bad values, duplicates, oversold."""
    check_int("lot_id", seed.lot_id, high=MAX_LOT_ID)
    check_int("stock_grams", seed.stock_grams, low=0)
    seen: set[str] = set()
    total = 0
    entries: list[Hold | Sale] = [*seed.holds, *seed.sales]
    for entry in entries:
        check_id("order_id", entry.order_id)
        check_id("buyer", entry.buyer)
        total += check_int("grams", entry.grams)
        if isinstance(entry, Hold) and entry.expires_at is not None:
            check_time("expires_at", entry.expires_at)
        if entry.order_id in seen:
            raise InvalidInput("order id appears twice in the seed", order_id=entry.order_id)
        seen.add(entry.order_id)
    if total > seed.stock_grams:
        raise InvalidInput("held + sold exceed stock in the seed", lot_id=seed.lot_id)


# Refusals, built in one place so that every adapter raises exactly the same errors.


def sold_out(state: LotState) -> SoldOut:
    return SoldOut(lot_id=state.lot_id, available_grams=state.available_grams)


def over_buyer_cap(lot_id: int, used_grams: int, cap_grams: int) -> BuyerLimitExceeded:
    return BuyerLimitExceeded(lot_id=lot_id, used_grams=used_grams, cap_grams=cap_grams)


def order_mismatch(order_id: str) -> InvalidInput:
    return InvalidInput("order id already used with other grams or buyer", order_id=order_id)


def not_sold(order_id: str) -> InvalidTransition:
    return InvalidTransition("only a sold order can be written off", order_id=order_id)


def below_committed(state: LotState, stock_grams: int) -> Conflict:
    return Conflict(
        "stock cannot go below held + sold grams",
        lot_id=state.lot_id,
        stock_grams=stock_grams,
        committed_grams=state.held_grams + state.sold_grams,
    )
