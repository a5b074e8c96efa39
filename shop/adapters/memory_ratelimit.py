"""MemoryRateLimiter: token buckets in this process (one BucketMap per limit, LRU-capped)."""

from __future__ import annotations

import time
from collections.abc import Callable

from shop.live.ratelimit import BucketMap
from shop.ratelimit import Decision, Limit


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._maps: dict[Limit, BucketMap] = {}

    def _bucket_map(self, limit: Limit) -> BucketMap:
        found = self._maps.get(limit)
        if found is None:
            found = self._maps[limit] = BucketMap(limit.rate, self._max_keys)
        return found

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> Decision:
        now = self._clock()
        bucket = self._bucket_map(limit).get(key, now)
        if bucket.take(now, cost):
            return Decision(True)
        return Decision(False, bucket.retry_after(now, cost))

    async def peek(self, limit: Limit, key: str) -> Decision:
        now = self._clock()
        wait = self._bucket_map(limit).get(key, now).retry_after(now)
        return Decision(wait <= 0, wait)
