"""The stock coalescer: however fast orders arrive, each room gets at most ~5 `stock`/s.

`mark(lot_ids)` (the order outbox's hook) only notes dirty lots. One task maps them to
sessions, and per session at most once per `interval_s` (across all instances, through
the hub's slot) reads the gate and publishes one `stock` event per dirty lot. Each event
takes a seq from the hub *after* the read, while the slot is held, so a later seq never
carries older figures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from shop.errors import ShopError
from shop.gate import InventoryGate
from shop.live import events
from shop.live.hub import LiveHub
from shop.live.lots import SessionLots
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.live")
# How long stop() lets a step in flight finish before cancelling it.
STOP_GRACE_S = 2.0

Publish = Callable[[int, events.Event], Awaitable[None]]


class StockCoalescer:
    def __init__(
        self,
        *,
        gate: InventoryGate,
        hub: LiveHub,
        lots: SessionLots,
        publish: Publish,
        interval_s: float = 0.2,
        retry_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gate = gate
        self._hub = hub
        self._lots = lots
        self._publish = publish
        self._interval = interval_s
        self._retry = retry_s
        self._clock = clock
        self._dirty: set[int] = set()  # lots changed, not yet mapped to sessions
        self._pending: dict[int, set[int]] = {}  # session -> lots to publish
        self._not_before: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._tasks = TaskSet()
        self._stopping = False
        self.published = 0  # stock events published by this instance (for tests, metrics)

    def mark(self, lot_ids: Iterable[int]) -> None:
        """Note that these lots changed; cheap and synchronous (called on the order path)."""
        self._dirty.update(lot_ids)
        self._wake.set()

    def mark_session(self, session_id: int, lot_ids: Iterable[int]) -> None:
        """Publish these lots to this session (e.g. when it starts or ends)."""
        self._pending.setdefault(session_id, set()).update(lot_ids)
        self._wake.set()

    def start(self) -> None:
        if not self._tasks:
            self._tasks.spawn(self._run(), name="live-stock")

    async def stop(self) -> None:
        if not self._tasks:
            return
        # Let a step in flight finish first: a query cancelled halfway leaves the database
        # driver's worker thread answering an event loop that may be closed by then.
        self._stopping = True
        self._wake.set()
        await self._tasks.close(grace_s=STOP_GRACE_S)
        self._stopping = False

    @property
    def idle(self) -> bool:
        """Nothing dirty or pending (tests wait on this)."""
        return not self._dirty and not self._pending

    async def _run(self) -> None:
        while not self._stopping:
            delay = self._delay()
            if delay is None or delay > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stock coalescer step failed; retrying")
                await asyncio.sleep(self._retry)

    def _delay(self) -> float | None:
        if self._dirty:
            return 0.0
        if not self._pending:
            return None
        now = self._clock()
        return max(0.0, min(self._not_before.get(s, 0.0) for s in self._pending) - now)

    async def step(self) -> None:
        """Map dirty lots to sessions, then publish every session whose slot is free."""
        if self._dirty:
            dirty, self._dirty = self._dirty, set()
            try:
                found, discovered = await self._lots.sessions_for(dirty)
            except Exception:
                self._dirty |= dirty
                raise
            for mapping in (found, discovered):
                for session_id, lot_ids in mapping.items():
                    self._pending.setdefault(session_id, set()).update(lot_ids)
        now = self._clock()
        for session_id in list(self._pending):
            if self._not_before.get(session_id, 0.0) > now:
                continue
            wait = await self._hub.claim_slot(session_id, "stock", self._interval)
            if wait > 0:
                self._not_before[session_id] = now + wait
                continue
            lot_ids = self._pending.pop(session_id)
            self._not_before[session_id] = now + self._interval
            try:
                await self._publish_lots(session_id, sorted(lot_ids))
            except ShopError as exc:
                # Gate rebuilding or unreachable: keep the lots and try again shortly.
                log.warning("stock for session %s deferred: %s", session_id, exc.message)
                self._pending.setdefault(session_id, set()).update(lot_ids)
                self._not_before[session_id] = now + self._retry
        for session_id, until in list(self._not_before.items()):
            if until <= now and session_id not in self._pending:
                del self._not_before[session_id]

    async def _publish_lots(self, session_id: int, lot_ids: list[int]) -> None:
        states = await self._gate.snapshot_many(lot_ids)
        if not states:
            return
        last = await self._hub.next_seq(session_id, len(states))
        first = last - len(states) + 1
        for offset, state in enumerate(states):
            await self._publish(session_id, events.stock(state, first + offset))
            self.published += 1
