"""The RateLimiter port: named token-bucket limits keyed by a client (an IP, an e-mail).

Adapters: `shop.adapters.memory_ratelimit.MemoryRateLimiter` (one process) and
`shop.adapters.redis_ratelimit.RedisRateLimiter` (shared by every instance). Both take
the time from a caller-supplied clock so that tests drive them identically. The buckets
are the live room's (`shop.live.ratelimit.Rate` / `TokenBucket`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop.live.ratelimit import Rate

__all__ = ["Decision", "Limit", "Rate", "RateLimiter"]


@dataclass(frozen=True, slots=True)
class Limit:
    """A named rate: each key (client) gets its own bucket of `rate` under `name`."""

    name: str
    rate: Rate


@dataclass(frozen=True, slots=True)
class Decision:
    """`allowed`, or refused with `retry_after` seconds until one more would pass."""

    allowed: bool
    retry_after: float = 0.0


class RateLimiter(Protocol):
    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> Decision:
        """Spend `cost` tokens of `key`'s bucket if it has them; nothing spent when refused."""
        ...

    async def peek(self, limit: Limit, key: str) -> Decision:
        """Whether `take` would pass now; spends nothing."""
        ...
