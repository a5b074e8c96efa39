"""Tests for the stock coalescer and the lot -> session index (shop.live.stock, lots)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.memory_hub import MemoryHub, MemoryHubState
from shop.gate import LotSeed
from shop.live import events
from shop.live.hub import Audience
from shop.live.lots import SessionLots
from shop.live.stock import StockCoalescer
from tests.shop.live_fakes import Catalogue, session

LOT, OTHER = 1, 2


@dataclass
class Room:
    """Every stock event any instance delivered, per session."""

    stock: dict[int, list[dict]] = field(default_factory=dict)

    def __call__(self, session_id: int, audience: Audience, payload: str) -> None:
        if payload.startswith(events.STOCK_PREFIX):
            self.stock.setdefault(session_id, []).append(json.loads(payload))


@dataclass
class Instance:
    hub: MemoryHub
    coalescer: StockCoalescer
    catalogue: Catalogue


@pytest.fixture
async def world() -> AsyncIterator[tuple[MemoryGate, MemoryHubState, Room, Catalogue]]:
    gate = MemoryGate()
    await gate.load(LotSeed(LOT, 1_000_000))
    await gate.load(LotSeed(OTHER, 500_000))
    yield gate, MemoryHubState(), Room(), Catalogue(session(7, [LOT]))
    await gate.close()


async def instance(
    gate: MemoryGate, state: MemoryHubState, room: Room | None, catalogue: Catalogue, name: str
) -> Instance:
    hub = MemoryHub(state, instance_id=name)
    await hub.start(room or (lambda *_: None))

    async def publish(session_id: int, event: events.Event) -> None:
        await hub.publish(session_id, Audience.ALL, events.encode(event))

    coalescer = StockCoalescer(
        gate=gate, hub=hub, lots=SessionLots(catalogue.live_sessions), publish=publish
    )
    coalescer.start()
    return Instance(hub, coalescer, catalogue)


async def settled(*instances: Instance, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(i.coalescer.idle for i in instances):
        assert time.monotonic() < deadline, "the coalescer never settled"
        await asyncio.sleep(0.01)


async def test_a_flood_of_changes_becomes_at_most_five_events_a_second(world) -> None:  # type: ignore[no-untyped-def]
    """400 sales in ~1 s give one room at most ~6 stock events, the last with the final figures."""
    gate, state, room, catalogue = world
    one = await instance(gate, state, room, catalogue, "a")
    started = time.monotonic()
    for i in range(400):
        await gate.commit(LOT, f"o{i}", 1_000, buyer=f"b{i}")
        one.coalescer.mark([LOT])
        if i % 40 == 0:
            await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    await settled(one)
    got = room.stock[7]
    assert len(got) <= 5 * elapsed + 2
    assert got[-1]["sold_grams"] == 400_000 and got[-1]["available_grams"] == 600_000
    assert [e["seq"] for e in got] == sorted({e["seq"] for e in got})
    await one.coalescer.stop()


async def test_two_instances_share_the_rate_and_seq_never_goes_back(world) -> None:  # type: ignore[no-untyped-def]
    """Both instances relay the same changes: together still ~5/s, seq strictly rising."""
    gate, state, room, catalogue = world
    a = await instance(gate, state, room, catalogue, "a")
    b = await instance(gate, state, None, catalogue, "b")
    started = time.monotonic()
    for i in range(300):
        await gate.commit(LOT, f"o{i}", 1_000, buyer="b")
        (a if i % 2 else b).coalescer.mark([LOT])
        if i % 30 == 0:
            await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    await settled(a, b)
    got = room.stock[7]
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(set(seqs))
    assert len(got) <= 5 * elapsed + 3
    assert got[-1]["sold_grams"] == 300_000
    await a.coalescer.stop()
    await b.coalescer.stop()


async def test_a_lot_sold_in_two_sessions_updates_both(world) -> None:  # type: ignore[no-untyped-def]
    """Each live session selling from the lot gets its own stock event; others get none."""
    gate, state, room, catalogue = world
    catalogue.sessions = [session(7, [LOT]), session(8, [LOT, OTHER]), session(9, [OTHER])]
    one = await instance(gate, state, room, catalogue, "a")
    await gate.commit(LOT, "o1", 5_000, buyer="b")
    one.coalescer.mark([LOT])
    await settled(one)
    assert {sid: [e["lot_id"] for e in got] for sid, got in room.stock.items()} == {
        7: [LOT],
        8: [LOT],
    }
    await one.coalescer.stop()


async def test_a_session_that_starts_selling_a_lot_gets_its_figures(world) -> None:  # type: ignore[no-untyped-def]
    """A rebuilt index that finds a new (session, lot) pair publishes that lot to it."""
    catalogue = world[3]
    clock = [0.0]
    lots = SessionLots(catalogue.live_sessions, clock=lambda: clock[0])
    assert await lots.sessions_for([LOT]) == ({7: {LOT}}, {})
    catalogue.sessions.append(session(8, [LOT]))
    assert await lots.sessions_for([LOT]) == ({7: {LOT}}, {})  # still fresh: no re-read
    clock[0] = 1.5
    assert await lots.sessions_for([LOT]) == ({7: {LOT}, 8: {LOT}}, {8: {LOT}})
    reads = catalogue.reads
    await lots.sessions_for([OTHER])  # unknown lot, but read 0 s ago: wait for min age
    clock[0] = 1.7
    await lots.sessions_for([OTHER])  # unknown lot: read again early
    assert catalogue.reads == reads + 1


async def test_gate_outage_defers_and_retries(world) -> None:  # type: ignore[no-untyped-def]
    """A lot the gate does not hold yet is published once it is loaded, not lost."""
    gate, state, room, catalogue = world
    catalogue.sessions = [session(7, [3])]
    one = await instance(gate, state, room, catalogue, "a")
    one.coalescer._retry = 0.05  # keep the test short
    one.coalescer.mark([3])
    await asyncio.sleep(0.2)
    assert 7 not in room.stock and not one.coalescer.idle
    await gate.load(LotSeed(3, 42_000))
    await settled(one)
    assert room.stock[7][-1]["stock_grams"] == 42_000
    await one.coalescer.stop()


class SlowCatalogue(Catalogue):
    """A catalogue whose read blocks until the test lets it finish."""

    def __init__(self, *sessions) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*sessions)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = False

    async def live_sessions(self):  # type: ignore[no-untyped-def]
        self.entered.set()
        await self.release.wait()
        self.finished = True
        return await super().live_sessions()


async def test_stop_lets_a_step_in_flight_finish(world) -> None:  # type: ignore[no-untyped-def]
    """stop() waits for a read in progress instead of cancelling it halfway (driver threads)."""
    gate, state, room, _ = world
    slow = SlowCatalogue(session(7, [LOT]))
    one = await instance(gate, state, room, slow, "a")  # type: ignore[arg-type]
    one.coalescer.mark([LOT])
    await asyncio.wait_for(slow.entered.wait(), 3)
    stopping = asyncio.create_task(one.coalescer.stop())
    await asyncio.sleep(0)
    slow.release.set()
    await asyncio.wait_for(stopping, 3)
    assert slow.finished
