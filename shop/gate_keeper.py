"""GateKeeper: opens the inventory gate from SQL, and reloads it when its store lost data.

Reloading rewrites whole lots, which would erase holds other requests or instances are
placing right now; so it happens only when the store has no valid epoch (a fresh memory
gate, a flushed or restarted Redis), never merely because this process started or saw a
passing error. A lot missing while the epoch holds (created on another instance) is
loaded only if it is still missing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Protocol

from shop.errors import GateUnavailable, LotNotLoaded, ShopError
from shop.gate import InventoryGate, LotSeed

log = logging.getLogger("farmlive.orders")


class LotSource(Protocol):
    async def lot_ids(self) -> list[int]: ...

    async def lot_seed(self, lot_id: int, now: datetime) -> LotSeed: ...


class GateKeeper:
    def __init__(self, gate: InventoryGate, lots: LotSource) -> None:
        self.gate = gate
        self._lots = lots
        self._epoch: str | None = None
        self._ready = False
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        return self._ready

    def mark_unready(self) -> None:
        """The gate erred: close it until the next check finds (or rebuilds) the epoch."""
        self._ready = False

    async def open(self) -> None:
        """Adopt the store's valid epoch, or (data lost) reload every lot from SQL."""
        async with self._lock:
            current = await self.gate.epoch()
            if current is not None:
                self._epoch, self._ready = current, True
                return
            self._ready = False
            try:
                await self._reload()
            except ShopError:
                log.warning("inventory gate unavailable; will retry the rebuild")
                raise

    async def _reload(self) -> None:
        now = datetime.now(UTC)
        for lot_id in await self._lots.lot_ids():
            if await self.gate.epoch() is not None:
                break  # another instance finished the rebuild meanwhile: adopt it
            await self.gate.load(await self._lots.lot_seed(lot_id, now))
        epoch = uuid.uuid4().hex
        if not await self.gate.set_epoch(epoch, if_absent=True):
            epoch = await self.gate.epoch() or epoch
        self._epoch, self._ready = epoch, True
        log.info("inventory gate rebuilt from SQL (epoch %s)", epoch)

    async def check(self) -> None:
        """Notice a store that lost its data (restart without AOF, FLUSHALL) and rebuild."""
        try:
            if await self.gate.epoch() != self._epoch or not self._ready:
                await self.open()
        except ShopError:
            self._ready = False
        except Exception:
            self._ready = False
            raise

    async def load_missing(self, lot_id: int) -> bool:
        """A lot missing from the gate: load it, or (the store lost everything) close the
        gate for a rebuild and say so (False)."""
        epoch = await self.gate.epoch()
        if epoch is None or epoch != self._epoch:
            self._ready = False
            return False
        await self.load_if_missing(lot_id)
        return True

    async def load_if_missing(self, lot_id: int) -> None:
        """Load a lot the gate does not have; never overwrite one it has (live holds)."""
        async with self._lock:
            try:
                await self.gate.snapshot(lot_id)
                return
            except LotNotLoaded:
                pass
            await self.gate.load(await self._lots.lot_seed(lot_id, datetime.now(UTC)))

    async def lot_added(self, lot_id: int) -> None:
        """Load a new lot into the gate at once (a missing lot is also loaded on demand)."""
        try:
            await self.load_if_missing(lot_id)
        except GateUnavailable:
            log.warning("gate unavailable; lot %s will be loaded on first use", lot_id)
