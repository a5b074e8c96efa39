"""HoldExpiry: pending orders past their hold become `expired` in SQL, then in the gate.

The gate drops an expired hold by itself (lazily, at its deadline); this makes SQL agree,
through the one transition path (`expire_due`), and syncs the gate for those orders.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from shop.gate_sync import GateSync


class ExpiryStore(Protocol):
    async def expire_due(self, now: datetime, limit: int = 500) -> list[str]: ...


class HoldExpiry:
    def __init__(self, store: ExpiryStore, sync: GateSync) -> None:
        self._store = store
        self._sync = sync

    async def sweep(self, now: datetime | None = None) -> list[str]:
        expired = await self._store.expire_due(now or datetime.now(UTC))
        if expired:
            await self._sync.sync(expired)
        return expired
