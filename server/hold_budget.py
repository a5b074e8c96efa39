"""The hold budget (shop/hold_policy.py) on the `limits` library: grams per address and
per device over a sliding window, in memory or in Redis (shared by every instance).

`limits`' sliding-window counter keeps two counters per key, so spending a cost in grams
is one atomic call (a Lua script on Redis) whatever the size: its moving-window strategy
would store one entry per gram. Our own RateLimiter port (token buckets) stays for the
per-request limits; this one counts weights, which is what `limits` serves.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from server.settings import Settings
from shop.errors import HoldLimitReached
from shop.hold_policy import BudgetLimits

log = logging.getLogger("farmlive.abuse")


def budget_limits(settings: Settings) -> BudgetLimits:
    return BudgetLimits(
        address_grams=settings.hold_budget_address_grams,
        device_grams=settings.hold_budget_device_grams,
        window_seconds=settings.hold_budget_window_s,
        hold_seconds=settings.hold_seconds,
        short_hold_seconds=settings.short_hold_seconds,
        nearly_sold_out_ratio=settings.nearly_sold_out_ratio,
        enabled=settings.rate_limits,
    )


class LimitsBudget:
    """BuyerBudget over a `limits` storage."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._settings = settings  # read per order: tests and operators may switch it off
        self.limits = limits = budget_limits(settings)
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        window = limits.window_seconds
        self._address = RateLimitItemPerSecond(limits.address_grams, window, namespace="hold-ip")
        self._device = RateLimitItemPerSecond(limits.device_grams, window, namespace="hold-dev")

    @classmethod
    def for_settings(cls, settings: Settings) -> LimitsBudget:
        storage: Storage
        if settings.redis_url:
            uri = "async+" + settings.redis_url
            storage = RedisStorage(
                uri, implementation="redispy", key_prefix=f"{settings.redis_prefix}:hold"
            )
        else:
            storage = MemoryStorage()
        return cls(settings, storage)

    async def spend(self, client_ip: str, device: str, grams: int) -> None:
        if not self._settings.rate_limits:
            return
        # A cost capped at the budget: a first order in the window passes whatever its size.
        if client_ip and not await self._take(self._address, client_ip, grams):
            raise await self._refused(self._address, client_ip)
        if device and not await self._take(self._device, device, grams):
            raise await self._refused(self._device, device)

    async def _take(self, item: RateLimitItemPerSecond, key: str, grams: int) -> bool:
        try:
            return await self._strategy.hit(item, key, cost=min(grams, item.amount))
        except Exception:  # the gate, not this budget, protects the stock: fail open
            log.warning("hold budget unavailable; admitting", exc_info=True)
            return True

    async def _refused(self, item: RateLimitItemPerSecond, key: str) -> HoldLimitReached:
        try:
            stats = await self._strategy.get_window_stats(item, key)
            wait = max(1.0, stats.reset_time - time.time())
        except Exception:
            wait = float(item.get_expiry())
        return HoldLimitReached(wait)
