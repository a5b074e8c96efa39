"""The InventoryGate contract: the same assertions hold for MemoryGate and RedisGate.

The `gate` fixture runs every contract test once per adapter. Tests at the end of the file
check what only Redis can get wrong (hash tags, scripts, a Redis that dies or forgets).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest
from redis.asyncio import BlockingConnectionPool, Connection, Redis
from redis.crc import key_slot
from redis.exceptions import ResponseError

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.redis_gate import SCRIPTS, RedisGate
from shop.errors import (
    BuyerLimitExceeded,
    Conflict,
    GateUnavailable,
    InvalidInput,
    InvalidTransition,
    LotNotLoaded,
    ShopError,
    SoldOut,
)
from shop.gate import GateOp, GateStep, Hold, InventoryGate, LotSeed, LotState, Sale, run_step
from tests.services import redis_url

if TYPE_CHECKING:
    from tests.shop.conftest import OwnRedis

T0 = 1_700_000_000.0  # a fixed "now": every call passes it, so no test depends on the clock
LOT = 7
KG = 1000


def check(state: LotState) -> LotState:
    """Assert the per-lot invariant and hand the state back."""
    assert state.available_grams + state.held_grams + state.sold_grams == state.stock_grams
    assert 0 <= state.sold_grams <= state.stock_grams
    assert state.held_grams >= 0
    assert state.available_grams >= 0
    return state


async def load(gate: InventoryGate, stock: int = 100 * KG, **seed: Any) -> LotState:
    return check(await gate.load(LotSeed(LOT, stock, **seed)))


async def reserve(
    gate: InventoryGate,
    order_id: str,
    grams: int,
    *,
    buyer: str = "b1",
    cap: int | None = None,
    expires_at: float | None = None,
    now: float = T0,
) -> LotState:
    state = await gate.reserve(
        LOT, order_id, grams, buyer=buyer, buyer_cap_grams=cap, expires_at=expires_at, now=now
    )
    return check(state)


async def grams(gate: InventoryGate, now: float = T0) -> tuple[int, int, int, int]:
    """(stock, held, sold, available) of the test lot, invariant checked."""
    s = check(await gate.snapshot(LOT, now=now))
    return s.stock_grams, s.held_grams, s.sold_grams, s.available_grams


# --- load, snapshot, unload -------------------------------------------------------------


async def test_load_builds_the_lot_from_a_seed(gate: InventoryGate) -> None:
    """A seed's holds and sales are counted exactly, and snapshot agrees with load."""
    state = await load(
        gate,
        holds=[Hold("h1", 2 * KG, "b1", T0 + 60), Hold("h2", 1 * KG, "b2")],
        sales=[Sale("s1", 5 * KG, "b1")],
    )
    assert state == LotState(LOT, 100 * KG, 3 * KG, 5 * KG)
    assert state.available_grams == 92 * KG
    assert await gate.snapshot(LOT, now=T0) == state


async def test_load_replaces_whatever_was_there(gate: InventoryGate) -> None:
    """Loading again forgets the old holds, sales and buyer usage entirely."""
    await load(gate, holds=[Hold("old", 9 * KG, "b1")])
    await reserve(gate, "o1", KG, buyer="b1")
    assert await load(gate, stock=10 * KG) == LotState(LOT, 10 * KG, 0, 0)
    # The old orders are gone: releasing them changes nothing, and b1's usage restarted.
    assert check(await gate.release(LOT, "old", now=T0)).held_grams == 0
    assert (await reserve(gate, "o2", 10 * KG, buyer="b1", cap=10 * KG)).held_grams == 10 * KG


@pytest.mark.parametrize(
    "seed",
    [
        LotSeed(LOT, 1 * KG, sales=[Sale("s1", 2 * KG, "b")]),
        LotSeed(LOT, 9 * KG, holds=[Hold("x", KG, "b")], sales=[Sale("x", KG, "b")]),
        LotSeed(LOT, -1),
        LotSeed(0, KG),
        LotSeed(LOT, KG, holds=[Hold("h", 0, "b")]),
        LotSeed(LOT, KG, holds=[Hold("h", 5, "")]),
        LotSeed(LOT, KG, holds=[Hold("h", 5, "b", float("nan"))]),
    ],
    ids=["oversold", "duplicate-id", "negative-stock", "lot-0", "zero-grams", "no-buyer", "nan"],
)
async def test_load_refuses_an_impossible_seed(gate: InventoryGate, seed: LotSeed) -> None:
    """A seed that could not be a real lot is refused and leaves the lot as it was."""
    await load(gate, stock=5 * KG)
    with pytest.raises(InvalidInput):
        await gate.load(seed)
    assert await grams(gate) == (5 * KG, 0, 0, 5 * KG)


async def test_unknown_or_unloaded_lot_is_not_loaded(gate: InventoryGate) -> None:
    """Every operation on a lot the gate holds nothing for raises LotNotLoaded."""
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: gate.snapshot(LOT, now=T0),
        lambda: gate.snapshot_many([LOT], now=T0),
        lambda: reserve(gate, "o1", KG),
        lambda: gate.commit(LOT, "o1", KG, now=T0),
        lambda: gate.release(LOT, "o1", now=T0),
        lambda: gate.write_off(LOT, "o1", now=T0),
        lambda: gate.set_stock(LOT, KG, now=T0),
    ]
    for call in calls:
        with pytest.raises(LotNotLoaded):
            await call()
    await load(gate)
    await gate.unload(LOT)
    await gate.unload(LOT)  # idempotent
    for call in calls:
        with pytest.raises(LotNotLoaded):
            await call()


async def test_snapshot_many_answers_in_the_order_asked(gate: InventoryGate) -> None:
    """snapshot_many returns one state per lot id, in order, and refuses an unknown lot."""
    await gate.load(LotSeed(1, 10 * KG))
    await gate.load(LotSeed(2, 20 * KG, sales=[Sale("s", KG, "b")]))
    assert await gate.snapshot_many([2, 1, 2], now=T0) == [
        LotState(2, 20 * KG, 0, KG),
        LotState(1, 10 * KG, 0, 0),
        LotState(2, 20 * KG, 0, KG),
    ]
    assert await gate.snapshot_many([], now=T0) == []
    with pytest.raises(LotNotLoaded):
        await gate.snapshot_many([1, 3], now=T0)
    await gate.unload(1)
    await gate.unload(2)


# --- reserve -------------------------------------------------------------------------------


async def test_reserve_takes_a_hold(gate: InventoryGate) -> None:
    """A reservation moves grams from available to held."""
    await load(gate)
    assert await reserve(gate, "o1", 3 * KG) == LotState(LOT, 100 * KG, 3 * KG, 0)
    assert await grams(gate) == (100 * KG, 3 * KG, 0, 97 * KG)


async def test_reserve_is_idempotent_per_order_id(gate: InventoryGate) -> None:
    """Reserving the same order again changes nothing; other grams or buyer are refused."""
    await load(gate)
    first = await reserve(gate, "o1", 3 * KG, buyer="b1")
    assert await reserve(gate, "o1", 3 * KG, buyer="b1") == first
    with pytest.raises(InvalidInput):
        await reserve(gate, "o1", 4 * KG, buyer="b1")
    with pytest.raises(InvalidInput):
        await reserve(gate, "o1", 3 * KG, buyer="b2")
    await gate.commit(LOT, "o1", 3 * KG, now=T0)
    # A late retry of the reservation of an order that is already sold is a no-op too.
    assert await reserve(gate, "o1", 3 * KG, buyer="b1") == LotState(LOT, 100 * KG, 0, 3 * KG)
    assert await grams(gate) == (100 * KG, 0, 3 * KG, 97 * KG)


async def test_reserve_refuses_when_sold_out(gate: InventoryGate) -> None:
    """The last grams go to exactly one order; the next one gets SoldOut with what is left."""
    await load(gate, stock=10 * KG)
    await reserve(gate, "o1", 7 * KG)
    with pytest.raises(SoldOut) as refused:
        await reserve(gate, "o2", 4 * KG)
    assert refused.value.details == {"lot_id": LOT, "available_grams": 3 * KG}
    assert refused.value.code == "sold_out"
    assert await reserve(gate, "o3", 3 * KG) == LotState(LOT, 10 * KG, 10 * KG, 0)
    with pytest.raises(SoldOut):
        await reserve(gate, "o4", 1)
    assert await grams(gate) == (10 * KG, 10 * KG, 0, 0)


async def test_buyer_cap_counts_held_and_sold_grams(gate: InventoryGate) -> None:
    """A buyer's holds and purchases count towards the cap; others are not affected."""
    await load(gate, sales=[Sale("s0", 2 * KG, "b1")])
    await reserve(gate, "o1", 3 * KG, buyer="b1", cap=10 * KG)
    await gate.commit(LOT, "o1", 3 * KG, now=T0)
    await reserve(gate, "o2", 4 * KG, buyer="b1", cap=10 * KG)
    with pytest.raises(BuyerLimitExceeded) as refused:
        await reserve(gate, "o3", 2 * KG, buyer="b1", cap=10 * KG)
    assert refused.value.details == {"lot_id": LOT, "used_grams": 9 * KG, "cap_grams": 10 * KG}
    assert (await reserve(gate, "o3", 1 * KG, buyer="b1", cap=10 * KG)).held_grams == 5 * KG
    assert (await reserve(gate, "o4", 9 * KG, buyer="b2", cap=10 * KG)).held_grams == 14 * KG
    assert (await reserve(gate, "o5", 50 * KG, buyer="b1", cap=None)).held_grams == 64 * KG
    assert await grams(gate) == (100 * KG, 64 * KG, 5 * KG, 31 * KG)


async def test_releasing_gives_the_buyer_allowance_back(gate: InventoryGate) -> None:
    """Released holds, released sales, write-offs and expiry all return cap allowance."""
    await load(gate)
    cap = 4 * KG
    await reserve(gate, "o1", 4 * KG, buyer="b1", cap=cap)
    await gate.release(LOT, "o1", now=T0)
    await reserve(gate, "o2", 4 * KG, buyer="b1", cap=cap)
    await gate.commit(LOT, "o2", 4 * KG, now=T0)
    await gate.release(LOT, "o2", now=T0)
    await reserve(gate, "o3", 4 * KG, buyer="b1", cap=cap)
    await gate.commit(LOT, "o3", 4 * KG, now=T0)
    await gate.write_off(LOT, "o3", now=T0)
    await reserve(gate, "o4", 4 * KG, buyer="b1", cap=cap, expires_at=T0 + 60)
    with pytest.raises(BuyerLimitExceeded):
        await reserve(gate, "o5", 1, buyer="b1", cap=cap, now=T0 + 59)
    assert (await reserve(gate, "o5", 4 * KG, buyer="b1", cap=cap, now=T0 + 60)).held_grams == cap


# --- commit --------------------------------------------------------------------------------


async def test_commit_turns_a_hold_into_a_sale(gate: InventoryGate) -> None:
    """Commit moves the hold's grams to sold; again is a no-op; other grams are refused."""
    await load(gate)
    await reserve(gate, "o1", 3 * KG, expires_at=T0 + 60)
    assert check(await gate.commit(LOT, "o1", 3 * KG, now=T0)) == LotState(LOT, 100 * KG, 0, 3 * KG)
    assert await gate.commit(LOT, "o1", 3 * KG, now=T0) == LotState(LOT, 100 * KG, 0, 3 * KG)
    with pytest.raises(InvalidInput):
        await gate.commit(LOT, "o1", 2 * KG, now=T0)
    await reserve(gate, "o2", 2 * KG)
    with pytest.raises(InvalidInput):
        await gate.commit(LOT, "o2", 1 * KG, now=T0)
    # A sale never expires, even long after its hold would have.
    assert await grams(gate, now=T0 + 3600) == (100 * KG, 2 * KG, 3 * KG, 95 * KG)


async def test_commit_without_a_hold_takes_available_stock(gate: InventoryGate) -> None:
    """A payment with no live hold gets the grams if enough remain, else SoldOut."""
    await load(gate, stock=10 * KG)
    assert check(await gate.commit(LOT, "late", 6 * KG, now=T0)).sold_grams == 6 * KG
    with pytest.raises(SoldOut):
        await gate.commit(LOT, "later", 5 * KG, now=T0)
    assert await grams(gate) == (10 * KG, 0, 6 * KG, 4 * KG)


async def test_commit_without_a_hold_counts_for_the_named_buyer(gate: InventoryGate) -> None:
    """A hold-less commit that names the buyer uses (and on release returns) the allowance."""
    await load(gate)
    await gate.commit(LOT, "late", 6 * KG, buyer="b1", now=T0)
    with pytest.raises(BuyerLimitExceeded):
        await reserve(gate, "o1", 5 * KG, buyer="b1", cap=10 * KG)
    await gate.release(LOT, "late", now=T0)
    assert (await reserve(gate, "o1", 10 * KG, buyer="b1", cap=10 * KG)).held_grams == 10 * KG


async def test_commit_racing_the_expiry_of_its_hold(gate: InventoryGate) -> None:
    """A payment just before expiry wins; just after, it wins only if stock is still free."""
    await load(gate, stock=10 * KG)
    await reserve(gate, "o1", 4 * KG, expires_at=T0 + 60)
    await reserve(gate, "o2", 4 * KG, expires_at=T0 + 60)
    assert (await gate.commit(LOT, "o1", 4 * KG, now=T0 + 59.999)).sold_grams == 4 * KG
    # At expires_at the hold is gone; another buyer takes everything that is left...
    assert await grams(gate, now=T0 + 60) == (10 * KG, 0, 4 * KG, 6 * KG)
    await reserve(gate, "o3", 6 * KG, now=T0 + 60)
    # ...so the late payment for o2 is refused rather than oversold.
    with pytest.raises(SoldOut):
        await gate.commit(LOT, "o2", 4 * KG, now=T0 + 61)
    assert await grams(gate, now=T0 + 61) == (10 * KG, 6 * KG, 4 * KG, 0)


async def test_late_commit_and_new_reserve_race_for_the_last_stock(gate: InventoryGate) -> None:
    """When an expired order's payment and a new order race for the last grams, one wins."""
    await load(gate, stock=10 * KG)
    await reserve(gate, "o1", 5 * KG, expires_at=T0 + 60)
    await reserve(gate, "o2", 5 * KG)
    now = T0 + 61
    outcomes = await asyncio.gather(
        gate.commit(LOT, "o1", 5 * KG, now=now),
        gate.reserve(LOT, "o3", 5 * KG, buyer="b9", buyer_cap_grams=None, expires_at=None, now=now),
        return_exceptions=True,
    )
    assert sum(isinstance(o, LotState) for o in outcomes) == 1
    assert sum(isinstance(o, SoldOut) for o in outcomes) == 1
    assert await grams(gate, now=now) in [(10 * KG, 5 * KG, 5 * KG, 0), (10 * KG, 10 * KG, 0, 0)]


# --- release, write-off, set_stock ---------------------------------------------------------


async def test_release_returns_a_hold_or_a_sale_to_available(gate: InventoryGate) -> None:
    """Release frees a hold, or a sold order (a cancelled COD order); unknown is a no-op."""
    await load(gate, sales=[Sale("s1", 5 * KG, "b1")])
    await reserve(gate, "o1", 3 * KG, expires_at=T0 + 60)
    assert check(await gate.release(LOT, "o1", now=T0)) == LotState(LOT, 100 * KG, 0, 5 * KG)
    assert await gate.release(LOT, "o1", now=T0) == LotState(LOT, 100 * KG, 0, 5 * KG)
    assert check(await gate.release(LOT, "s1", now=T0)) == LotState(LOT, 100 * KG, 0, 0)
    assert await gate.release(LOT, "s1", now=T0) == LotState(LOT, 100 * KG, 0, 0)
    assert await gate.release(LOT, "never-seen", now=T0) == LotState(LOT, 100 * KG, 0, 0)
    # The released hold's expiry must not free its grams a second time later on.
    await reserve(gate, "o2", 100 * KG)
    assert await grams(gate, now=T0 + 120) == (100 * KG, 100 * KG, 0, 0)


async def test_write_off_removes_a_refunded_sale_from_stock(gate: InventoryGate) -> None:
    """A write-off lowers sold and stock together; again, or for an unknown order, no-op."""
    await load(gate, sales=[Sale("s1", 5 * KG, "b1")])
    await reserve(gate, "o1", 2 * KG)
    after = LotState(LOT, 95 * KG, 2 * KG, 0)
    assert check(await gate.write_off(LOT, "s1", now=T0)) == after
    assert after.available_grams == 93 * KG
    assert await gate.write_off(LOT, "s1", now=T0) == after
    assert await gate.write_off(LOT, "never-seen", now=T0) == after
    with pytest.raises(InvalidTransition):
        await gate.write_off(LOT, "o1", now=T0)
    assert await grams(gate) == (95 * KG, 2 * KG, 0, 93 * KG)


async def test_set_stock_never_goes_below_held_plus_sold(gate: InventoryGate) -> None:
    """Staff may grow or shrink a lot down to held + sold, not below."""
    await load(gate, sales=[Sale("s1", 5 * KG, "b1")])
    await reserve(gate, "o1", 3 * KG)
    assert check(await gate.set_stock(LOT, 200 * KG, now=T0)) == LotState(
        LOT, 200 * KG, 3 * KG, 5 * KG
    )
    assert check(await gate.set_stock(LOT, 8 * KG, now=T0)).available_grams == 0
    with pytest.raises(Conflict) as refused:
        await gate.set_stock(LOT, 8 * KG - 1, now=T0)
    assert refused.value.details["committed_grams"] == 8 * KG
    assert await grams(gate) == (8 * KG, 3 * KG, 5 * KG, 0)
    await gate.release(LOT, "o1", now=T0)
    await gate.release(LOT, "s1", now=T0)
    assert await gate.set_stock(LOT, 0, now=T0) == LotState(LOT, 0, 0, 0)


# --- lazy expiry ---------------------------------------------------------------------------


async def test_holds_expire_lazily_at_their_deadline(gate: InventoryGate) -> None:
    """A hold counts until expires_at, then no longer; the order id may then hold again."""
    await load(gate, stock=10 * KG, holds=[Hold("seeded", KG, "b2", T0 + 30)])
    await reserve(gate, "o1", 4 * KG, expires_at=T0 + 60)
    await reserve(gate, "forever", 2 * KG, expires_at=None)
    assert await grams(gate, now=T0 + 29.9) == (10 * KG, 7 * KG, 0, 3 * KG)
    assert await grams(gate, now=T0 + 30) == (10 * KG, 6 * KG, 0, 4 * KG)
    assert await grams(gate, now=T0 + 59.99) == (10 * KG, 6 * KG, 0, 4 * KG)
    assert await grams(gate, now=T0 + 60) == (10 * KG, 2 * KG, 0, 8 * KG)
    assert await grams(gate, now=T0 + 10**6) == (10 * KG, 2 * KG, 0, 8 * KG)
    # The expired order is forgotten: reserving it again takes a fresh hold.
    assert (await reserve(gate, "o1", 8 * KG, now=T0 + 61)).available_grams == 0


async def test_many_holds_expire_together(gate: InventoryGate) -> None:
    """Hundreds of holds expiring at once are all purged by the next operation."""
    await load(gate, stock=1000 * KG)
    for i in range(300):
        await reserve(gate, f"o{i}", KG, buyer=f"b{i % 7}", expires_at=T0 + 1 + i % 3)
    assert await grams(gate, now=T0 + 1) == (1000 * KG, 200 * KG, 0, 800 * KG)
    state = await reserve(gate, "big", 1000 * KG, buyer="b0", cap=1000 * KG, now=T0 + 3)
    assert state == LotState(LOT, 1000 * KG, 1000 * KG, 0)


# --- input validation ----------------------------------------------------------------------

BAD_CALLS: dict[str, Callable[[InventoryGate], Awaitable[object]]] = {
    "grams-0": lambda g: reserve(g, "o", 0),
    "grams-negative": lambda g: reserve(g, "o", -5),
    "grams-float": lambda g: reserve(g, "o", 1.5),  # type: ignore[arg-type]
    "grams-huge": lambda g: reserve(g, "o", 10**15),
    "grams-bool": lambda g: reserve(g, "o", True),
    "grams-str": lambda g: reserve(g, "o", "5"),  # type: ignore[arg-type]
    "order-empty": lambda g: reserve(g, "", KG),
    "order-long": lambda g: reserve(g, "x" * 129, KG),
    "order-int": lambda g: reserve(g, 5, KG),  # type: ignore[arg-type]
    "order-surrogate": lambda g: reserve(g, "\ud800", KG),
    "order-multibyte-long": lambda g: reserve(g, "ả" * 43, KG),
    "buyer-empty": lambda g: reserve(g, "o", KG, buyer=""),
    "cap-0": lambda g: reserve(g, "o", KG, cap=0),
    "cap-bool": lambda g: reserve(g, "o", KG, cap=True),
    "expired-already": lambda g: reserve(g, "o", KG, expires_at=T0),
    "expires-nan": lambda g: reserve(g, "o", KG, expires_at=float("nan")),
    "expires-inf": lambda g: reserve(g, "o", KG, expires_at=float("inf")),
    "expires-ms": lambda g: reserve(g, "o", KG, expires_at=T0 * 1000),
    "now-negative": lambda g: reserve(g, "o", KG, now=-1.0),
    "now-bool": lambda g: reserve(g, "o", KG, now=True),
    "lot-0": lambda g: g.snapshot(0, now=T0),
    "lot-bool": lambda g: g.snapshot(True, now=T0),
    "lot-huge": lambda g: g.snapshot(2**64, now=T0),
    "commit-grams-0": lambda g: g.commit(LOT, "o", 0, now=T0),
    "commit-grams-float": lambda g: g.commit(LOT, "o", 2.0, now=T0),  # type: ignore[arg-type]
    "commit-buyer-empty": lambda g: g.commit(LOT, "o", KG, buyer="", now=T0),
    "release-order-empty": lambda g: g.release(LOT, "", now=T0),
    "write-off-order-none": lambda g: g.write_off(LOT, None, now=T0),  # type: ignore[arg-type]
    "stock-negative": lambda g: g.set_stock(LOT, -1, now=T0),
    "stock-huge": lambda g: g.set_stock(LOT, 10**15, now=T0),
    "stock-bool": lambda g: g.set_stock(LOT, False, now=T0),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
async def test_bad_input_is_refused_before_anything_changes(gate: InventoryGate, name: str) -> None:
    """Zero, negative, fractional, huge, boolean or malformed values raise InvalidInput."""
    await load(gate, stock=10 * KG)
    await reserve(gate, "o", KG)
    with pytest.raises(InvalidInput):
        await BAD_CALLS[name](gate)
    assert await grams(gate) == (10 * KG, KG, 0, 9 * KG)


# --- concurrency ---------------------------------------------------------------------------


async def test_concurrent_reserves_never_oversell(gate: InventoryGate) -> None:
    """2,000 simultaneous 5 kg orders on a 5 t lot: exactly 1,000 win, the rest sell out."""
    await load(gate, stock=5_000 * KG)
    outcomes = await asyncio.gather(
        *(
            gate.reserve(
                LOT,
                f"o{i}",
                5 * KG,
                buyer=f"b{i}",
                buyer_cap_grams=10 * KG,
                expires_at=None,
                now=T0,
            )
            for i in range(2000)
        ),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, LotState)]
    assert len(won) == 1000
    assert all(isinstance(o, SoldOut) for o in outcomes if not isinstance(o, LotState))
    for state in won:
        check(state)
    assert await grams(gate) == (5_000 * KG, 5_000 * KG, 0, 0)


async def test_concurrent_commits_releases_and_reserves_keep_the_books(
    gate: InventoryGate,
) -> None:
    """Commits, releases, retries and new orders interleaved: every gram stays accounted for."""
    await load(gate, stock=1000 * KG)
    for i in range(1000):
        await reserve(gate, f"o{i}", KG, buyer=f"b{i % 50}")
    calls: list[Awaitable[LotState]] = []
    for i in range(500):
        calls += [gate.commit(LOT, f"o{i}", KG, now=T0), gate.commit(LOT, f"o{i}", KG, now=T0)]
    calls += [gate.release(LOT, f"o{i}", now=T0) for i in range(500, 750)]
    calls += [
        gate.reserve(LOT, f"n{i}", KG, buyer="nb", buyer_cap_grams=None, expires_at=None, now=T0)
        for i in range(500)
    ]
    random.Random(7).shuffle(calls)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, LotState | SoldOut) for o in outcomes), outcomes
    refused = sum(isinstance(o, SoldOut) for o in outcomes)
    new_holds = 500 - refused
    assert 0 <= new_holds <= 250
    assert await grams(gate) == (
        1000 * KG,
        (250 + new_holds) * KG,
        500 * KG,
        (250 - new_holds) * KG,
    )


# --- epoch and readiness -------------------------------------------------------------------


async def test_epoch_marks_a_store_that_kept_its_data(gate: InventoryGate) -> None:
    """A fresh store has no epoch; set_epoch sets it, and if_absent never overwrites it."""
    assert await gate.epoch() is None
    assert await gate.set_epoch("e1", if_absent=True) is True
    assert await gate.set_epoch("e2", if_absent=True) is False
    assert await gate.epoch() == "e1"
    assert await gate.set_epoch("e3") is True
    assert await gate.epoch() == "e3"
    assert await gate.ping() is True


# --- both adapters, step by step -----------------------------------------------------------


async def outcome(call: Awaitable[object]) -> object:
    try:
        return await call
    except ShopError as exc:
        return (type(exc).__name__, exc.details)


@pytest.mark.redis
async def test_adapters_agree_on_random_operations(redis_gate: RedisGate) -> None:
    """800 random operations give identical answers and errors from memory and Redis."""
    memory = MemoryGate()
    rng = random.Random(20240611)
    seed = LotSeed(
        LOT, 60 * KG, holds=[Hold("h0", 2 * KG, "b0", T0 + 30)], sales=[Sale("s0", 3 * KG, "b1")]
    )
    assert await memory.load(seed) == await redis_gate.load(seed)
    now = T0
    kinds: set[object] = set()
    for _ in range(800):
        now += rng.choice([0, 0, 0, 0.5, 3, 20])
        order = f"o{rng.randrange(40)}"
        buyer = f"b{rng.randrange(4)}"
        amount = rng.choice([500, 1000, 2500, 4000])
        op = rng.choice(["reserve"] * 4 + ["commit"] * 2 + ["release", "write_off", "stock"])
        cap = rng.choice([None, 8 * KG])
        expires_at = rng.choice([None, now + 15, now + 40])
        payer = rng.choice([None, buyer])
        stock = rng.choice([40, 60, 80]) * KG
        results = []
        for g in (memory, redis_gate):
            if op == "reserve":
                call: Awaitable[object] = g.reserve(
                    LOT,
                    order,
                    amount,
                    buyer=buyer,
                    buyer_cap_grams=cap,
                    expires_at=expires_at,
                    now=now,
                )
            elif op == "commit":
                call = g.commit(LOT, order, amount, buyer=payer, now=now)
            elif op == "release":
                call = g.release(LOT, order, now=now)
            elif op == "write_off":
                call = g.write_off(LOT, order, now=now)
            else:
                call = g.set_stock(LOT, stock, now=now)
            results.append(await outcome(call))
        assert results[0] == results[1], (op, order, results)
        kinds.add(results[0][0] if isinstance(results[0], tuple) else "ok")
        assert check(await memory.snapshot(LOT, now=now)) == await redis_gate.snapshot(LOT, now=now)
    # The walk reached every answer the gate can give, so the agreement means something.
    assert kinds == {
        "ok",
        "SoldOut",
        "BuyerLimitExceeded",
        "InvalidInput",
        "InvalidTransition",
        "Conflict",
    }
    await assert_redis_books_balance(redis_gate)


async def assert_redis_books_balance(gate: RedisGate) -> None:
    """The Redis counters equal the sums of the per-order hashes they summarise."""
    client = Redis.from_url(redis_url(), decode_responses=True)
    try:
        state, holds, sales, owner, exp, used = gate.keys(LOT)
        st = {k: int(v) for k, v in (await client.hgetall(state)).items()}
        held = {k: int(v) for k, v in (await client.hgetall(holds)).items()}
        sold = {k: int(v) for k, v in (await client.hgetall(sales)).items()}
        owners = await client.hgetall(owner)
        usage = {k: int(v) for k, v in (await client.hgetall(used)).items()}
        expiring = set(await client.zrange(exp, 0, -1))
    finally:
        await client.aclose()
    assert st["held"] == sum(held.values())
    assert st["sold"] == sum(sold.values())
    assert expiring <= set(held)
    assert set(owners) <= set(held) | set(sold)
    expected: dict[object, int] = {}
    for order_id, buyer in owners.items():
        expected[buyer] = expected.get(buyer, 0) + held.get(order_id, sold.get(order_id, 0))
    assert usage == expected


# --- Redis only ----------------------------------------------------------------------------


@pytest.mark.redis
async def test_a_lots_keys_share_one_cluster_slot(redis_gate: RedisGate) -> None:
    """Every key a script touches carries the lot's {lot:N} tag, so one Cluster slot."""
    await redis_gate.load(LotSeed(LOT, 10 * KG, holds=[Hold("h", KG, "b", T0 + 60)]))
    await redis_gate.reserve(
        LOT, "o", KG, buyer="b", buyer_cap_grams=5 * KG, expires_at=T0 + 60, now=T0
    )
    await redis_gate.commit(LOT, "x", KG, buyer="c", now=T0)
    keys = redis_gate.keys(LOT)
    assert all(f":{{lot:{LOT}}}:" in key for key in keys)
    assert len({key_slot(key.encode()) for key in keys}) == 1
    assert key_slot(redis_gate.keys(LOT + 1)[0].encode()) != key_slot(keys[0].encode())
    prefix = keys[0].split(":{", 1)[0]
    client = Redis.from_url(redis_url(), decode_responses=True)
    try:
        written = {k async for k in client.scan_iter(match=f"{prefix}:*")}
    finally:
        await client.aclose()
    assert written == set(keys)  # all six exist now, and nothing outside them was written


BAD_SCRIPT_ARGS: dict[str, tuple[str, list[str | float]]] = {
    "grams-0": ("reserve", [T0, "o", "0", "b", "", ""]),
    "grams-negative": ("reserve", [T0, "o", "-5", "b", "", ""]),
    "grams-fraction": ("reserve", [T0, "o", "5.5", "b", "", ""]),
    "grams-exponent": ("reserve", [T0, "o", "1e3", "b", "", ""]),
    "grams-huge": ("reserve", [T0, "o", str(10**15), "b", "", ""]),
    "grams-text": ("reserve", [T0, "o", "five", "b", "", ""]),
    "now-nan": ("reserve", ["nan", "o", "5", "b", "", ""]),
    "now-negative": ("reserve", ["-1", "o", "5", "b", "", ""]),
    "order-empty": ("reserve", [T0, "", "5", "b", "", ""]),
    "order-long": ("reserve", [T0, "x" * 129, "5", "b", "", ""]),
    "cap-0": ("reserve", [T0, "o", "5", "b", "0", ""]),
    "expires-past": ("reserve", [T0, "o", "5", "b", "", T0 - 1]),
    "args-missing": ("reserve", [T0, "o"]),
    "commit-grams-0": ("commit", [T0, "o", "0", ""]),
    "release-no-order": ("release", [T0]),
    "stock-negative": ("set_stock", [T0, "-1"]),
    "snapshot-no-time": ("snapshot", []),
    "load-oversold": ("load", ["5", "0", "1", "s", "6", "b"]),
    "load-duplicate": ("load", ["50", "1", "1", "x", "5", "b", "", "x", "5", "b"]),
    "load-count": ("load", ["50", "2", "0", "x", "5", "b", ""]),
    "load-bad-expiry": ("load", ["50", "1", "0", "x", "5", "b", "soon"]),
}


@pytest.mark.redis
@pytest.mark.parametrize("name", list(BAD_SCRIPT_ARGS))
async def test_the_scripts_refuse_bad_arguments_themselves(
    redis_gate: RedisGate, name: str
) -> None:
    """Called directly, bypassing Python's checks, each script refuses bad arguments unchanged."""
    script, args = BAD_SCRIPT_ARGS[name]
    await redis_gate.load(LotSeed(LOT, 10 * KG, holds=[Hold("h", KG, "b")]))
    client = Redis.from_url(redis_url())
    try:
        with pytest.raises(ResponseError, match=r"^FLBADARG"):
            await client.eval(SCRIPTS[script], 6, *redis_gate.keys(LOT), *args)
    finally:
        await client.aclose()
    assert await redis_gate.snapshot(LOT, now=T0) == LotState(LOT, 10 * KG, KG, 0)


class CountingConnection(Connection):
    """A redis-py connection that counts what it sends: one call is one round trip."""

    sends = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        await super().send_packed_command(command, check_health)


@pytest.mark.redis
async def test_each_operation_is_one_round_trip() -> None:
    """reserve, commit and snapshot_many each cost Redis exactly one round trip."""
    pool = BlockingConnectionPool.from_url(redis_url(), connection_class=CountingConnection)
    client = Redis.from_pool(pool)
    gate = RedisGate(client, key_prefix=f"test-rt-{os.getpid()}-{time.monotonic_ns()}")
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        await gate.load(LotSeed(LOT + 1, 10 * KG))
        CountingConnection.sends = 0
        await gate.reserve(LOT, "o", KG, buyer="b", buyer_cap_grams=KG, expires_at=T0 + 9, now=T0)
        assert CountingConnection.sends == 1
        await gate.commit(LOT, "o", KG, now=T0)
        assert CountingConnection.sends == 2
        assert len(await gate.snapshot_many([LOT, LOT + 1, LOT], now=T0)) == 3
        assert CountingConnection.sends == 3
    finally:
        await gate.unload(LOT)
        await gate.unload(LOT + 1)
        await client.aclose()


@pytest.mark.redis
async def test_scripts_survive_a_script_flush(own_redis: OwnRedis) -> None:
    """After SCRIPT FLUSH (as after a restart with data) every operation still works."""
    gate = RedisGate.from_url(own_redis.url)
    admin = Redis.from_url(own_redis.url)
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        await reserve(gate, "o1", KG)
        await admin.script_flush()
        assert await reserve(gate, "o2", KG) == LotState(LOT, 10 * KG, 2 * KG, 0)
        await admin.script_flush()
        assert (
            await gate.snapshot_many([LOT, LOT], now=T0) == [LotState(LOT, 10 * KG, 2 * KG, 0)] * 2
        )
    finally:
        await admin.aclose()
        await gate.close()


@pytest.mark.redis
async def test_a_flushed_redis_reports_every_lot_as_not_loaded(own_redis: OwnRedis) -> None:
    """After FLUSHALL the epoch is gone and each lot says LotNotLoaded until it is loaded."""
    gate = RedisGate.from_url(own_redis.url)
    admin = Redis.from_url(own_redis.url)
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        await gate.set_epoch("e1")
        await reserve(gate, "o1", KG)
        await admin.flushall()
        assert await gate.epoch() is None
        with pytest.raises(LotNotLoaded):
            await reserve(gate, "o2", KG)
        with pytest.raises(LotNotLoaded):
            await gate.snapshot_many([LOT], now=T0)
        assert await admin.keys("*") == []  # the refused call did not leave half a lot behind
        await gate.load(LotSeed(LOT, 10 * KG, holds=[Hold("o1", KG, "b1")]))
        assert await reserve(gate, "o2", KG) == LotState(LOT, 10 * KG, 2 * KG, 0)
    finally:
        await admin.aclose()
        await gate.close()


@pytest.mark.redis
async def test_a_dead_redis_is_unavailable_then_empty_after_restart(own_redis: OwnRedis) -> None:
    """Killed: GateUnavailable fast, not a hang; restarted empty: LotNotLoaded until load."""
    gate = RedisGate.from_url(own_redis.url, timeout_seconds=0.5)
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        await reserve(gate, "o1", KG)
        own_redis.kill()
        started = time.monotonic()
        with pytest.raises(GateUnavailable) as refused:
            await reserve(gate, "o2", KG)
        assert type(refused.value) is GateUnavailable
        assert refused.value.__cause__ is not None
        assert refused.value.retryable
        assert await gate.ping() is False
        assert time.monotonic() - started < 3
        own_redis.start()
        with pytest.raises(LotNotLoaded):
            await reserve(gate, "o2", KG)
        assert await gate.ping() is True
        await gate.load(LotSeed(LOT, 10 * KG, holds=[Hold("o1", KG, "b1")]))
        assert await reserve(gate, "o2", KG) == LotState(LOT, 10 * KG, 2 * KG, 0)
    finally:
        await gate.close()


@pytest.mark.redis
async def test_a_frozen_redis_times_out_instead_of_hanging(own_redis: OwnRedis) -> None:
    """A Redis that accepts connections but never answers gives GateUnavailable in bounded time."""
    gate = RedisGate.from_url(own_redis.url, timeout_seconds=0.3)
    assert own_redis.proc is not None
    pid = own_redis.proc.pid
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(GateUnavailable):
                await reserve(gate, "o1", KG)
            assert time.monotonic() - started < 3
        finally:
            os.kill(pid, signal.SIGCONT)
        assert await reserve(gate, "o1", KG) == LotState(LOT, 10 * KG, KG, 0)
    finally:
        await gate.close()


# --- batches (apply_many) ---------------------------------------------------------------

BATCH = [
    GateStep(GateOp.RESERVE, 0, "a", 4 * KG, "b1", None, T0 + 60),
    GateStep(GateOp.RESERVE, 1, "b", 3 * KG, "b2", 5 * KG, None),
    GateStep(GateOp.RESERVE, 0, "c", 7 * KG, "b3", None, None),  # sold out: 4 + 7 > 10
    GateStep(GateOp.COMMIT, 0, "a", 4 * KG, "b1"),
    GateStep(GateOp.RESERVE, 0, "a", 5 * KG, "b1", None, None),  # mismatch: other grams
    GateStep(GateOp.RESERVE, 1, "d", 3 * KG, "b2", 5 * KG, None),  # over b2's cap
    GateStep(GateOp.COMMIT, 1, "late", 2 * KG, "b9"),  # no hold: takes what is left
    GateStep(GateOp.WRITE_OFF, 1, "b"),  # only held: refused
    GateStep(GateOp.RELEASE, 1, "b"),
    GateStep(GateOp.WRITE_OFF, 0, "a"),
    GateStep(GateOp.RELEASE, 0, "nobody"),  # unknown order: a no-op
    GateStep(GateOp.RESERVE, 0, "", KG, "b1"),  # invalid: refused alone
]


def _on(step: GateStep, lot_id: int) -> GateStep:
    return GateStep(
        step.op,
        lot_id,
        step.order_id,
        step.grams,
        step.buyer,
        step.buyer_cap_grams,
        step.expires_at,
    )


async def _one_by_one(gate: InventoryGate, step: GateStep) -> LotState | ShopError:
    try:
        return await run_step(gate, step, T0)
    except ShopError as exc:
        return exc


def _same(a: LotState | ShopError, b: LotState | ShopError) -> bool:
    if isinstance(a, LotState) or isinstance(b, LotState):
        return (
            isinstance(a, LotState)
            and isinstance(b, LotState)
            and (a.stock_grams, a.held_grams, a.sold_grams)
            == (b.stock_grams, b.held_grams, b.sold_grams)
        )

    def plain(e: ShopError) -> dict[str, object]:
        return {k: v for k, v in e.details.items() if k != "lot_id"}  # the lots differ

    return type(a) is type(b) and plain(a) == plain(b)


async def test_a_batch_does_what_the_calls_one_by_one_do(gate: InventoryGate) -> None:
    """apply_many answers each step (state or refusal) exactly as its own method would,
    refused steps change nothing, and the lots end up the same."""
    for lot_id in (LOT, LOT + 1, LOT + 2, LOT + 3):
        await gate.load(LotSeed(lot_id, 10 * KG))
    batched = await gate.apply_many([_on(s, LOT + s.lot_id) for s in BATCH], now=T0)
    singles = [await _one_by_one(gate, _on(s, LOT + 2 + s.lot_id)) for s in BATCH]
    assert len(batched) == len(BATCH)
    for step, a, b in zip(BATCH, batched, singles, strict=True):
        assert _same(a, b), (step, a, b)
    kinds = [type(r).__name__ for r in batched]
    assert kinds == [
        "LotState", "LotState", "SoldOut", "LotState", "InvalidInput", "BuyerLimitExceeded",
        "LotState", "InvalidTransition", "LotState", "LotState", "LotState", "InvalidInput",
    ]  # fmt: skip
    for lot_id in (LOT, LOT + 1):
        a = check(await gate.snapshot(lot_id, now=T0))
        b = check(await gate.snapshot(lot_id + 2, now=T0))
        assert (a.stock_grams, a.held_grams, a.sold_grams) == (
            b.stock_grams,
            b.held_grams,
            b.sold_grams,
        )
    assert await gate.apply_many([], now=T0) == []


async def test_a_batch_on_a_missing_lot_says_not_loaded(gate: InventoryGate) -> None:
    """Steps on a lot the gate does not hold come back LotNotLoaded; the others run."""
    await load(gate, 10 * KG)
    results = await gate.apply_many(
        [
            GateStep(GateOp.RESERVE, LOT + 40, "x", KG, "b1"),
            GateStep(GateOp.RESERVE, LOT, "y", KG, "b1"),
        ],
        now=T0,
    )
    assert isinstance(results[0], LotNotLoaded)
    assert isinstance(results[1], LotState) and results[1].held_grams == KG


@pytest.mark.redis
async def test_a_batch_over_two_lots_is_one_round_trip() -> None:
    """apply_many costs one round trip however many steps and lots it carries."""
    pool = BlockingConnectionPool.from_url(redis_url(), connection_class=CountingConnection)
    client = Redis.from_pool(pool)
    gate = RedisGate(client, key_prefix=f"test-batch-{os.getpid()}-{time.monotonic_ns()}")
    try:
        await gate.load(LotSeed(LOT, 10 * KG))
        await gate.load(LotSeed(LOT + 1, 10 * KG))
        steps = [GateStep(GateOp.RESERVE, LOT + i % 2, f"o{i}", KG, "b") for i in range(8)]
        CountingConnection.sends = 0
        results = await gate.apply_many(steps, now=T0)
        assert CountingConnection.sends == 1
        assert all(isinstance(r, LotState) for r in results)
        assert (await gate.snapshot(LOT, now=T0)).held_grams == 4 * KG
    finally:
        await gate.unload(LOT)
        await gate.unload(LOT + 1)
        await client.aclose()
