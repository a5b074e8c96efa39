"""RedisRateLimiter: the same token buckets, shared by every instance, one Lua call each.

Key per bucket: ``{prefix}:rl:{limit name}:{key}``, a hash of tokens and stamp that
expires once the bucket would be full again (so idle clients cost nothing). Time comes
from the caller's clock (wall time by default: instances keep NTP time), like RedisGate.

A Redis failure admits the request (fails open) and is logged: a limiter must never
take the shop down with it; the gate still protects the stock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from shop.ratelimit import Decision, Limit

log = logging.getLogger("farmlive.ratelimit")

# ARGV: burst, per_second, now, cost, spend (1 = take, 0 = peek).
# Floats come back as strings: Redis truncates Lua numbers to integers.
_BUCKET = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * rate)
  stamp = now
end
if tokens >= cost then
  if ARGV[5] == '1' then
    tokens = tokens - cost
    redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(stamp))
    redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
  end
  return {1, '0'}
end
return {0, tostring((cost - tokens) / rate)}
"""


class RedisRateLimiter:
    def __init__(
        self, redis: Any, key_prefix: str = "fl", clock: Callable[[], float] = time.time
    ) -> None:
        self._script = redis.register_script(_BUCKET)
        self._prefix = key_prefix
        self._clock = clock

    async def _run(self, limit: Limit, key: str, cost: float, spend: bool) -> Decision:
        rate = limit.rate
        args = [repr(rate.burst), repr(rate.per_second), repr(self._clock()), repr(cost)]
        try:
            allowed, wait = await self._script(
                keys=[f"{self._prefix}:rl:{limit.name}:{key}"], args=[*args, int(spend)]
            )
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable, admitting: %s", exc)
            return Decision(True)
        return Decision(bool(allowed), float(wait))

    async def take(self, limit: Limit, key: str, cost: float = 1.0) -> Decision:
        return await self._run(limit, key, cost, True)

    async def peek(self, limit: Limit, key: str) -> Decision:
        return await self._run(limit, key, 1.0, False)
