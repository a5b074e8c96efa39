"""One contract for every RateLimiter adapter (memory, Redis), on a clock the test drives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from shop.adapters.memory_ratelimit import MemoryRateLimiter
from shop.adapters.redis_ratelimit import RedisRateLimiter
from shop.ratelimit import Limit, Rate
from tests.services import redis_url
from tests.shop.conftest import delete_prefix

FIVE_PER_SECOND = Limit("orders", Rate(burst=3, per_second=5))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Any]:
    """Each adapter in turn; the Redis one under a fresh key prefix on the shared server."""
    if request.param == "memory":
        yield MemoryRateLimiter(clock)
        return
    url = redis_url()
    prefix = f"t{uuid.uuid4().hex[:10]}"
    client = Redis.from_url(url)
    try:
        yield RedisRateLimiter(client, prefix, clock)
    finally:
        await client.aclose()
        await delete_prefix(url, prefix)


async def test_burst_is_admitted_then_refused_with_a_wait(limiter: Any) -> None:
    """`burst` takes pass at once; the next is refused with the time one token needs."""
    results = [await limiter.take(FIVE_PER_SECOND, "1.2.3.4") for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[-1].retry_after == pytest.approx(0.2, abs=0.01)


async def test_tokens_refill_with_time(limiter: Any, clock: Clock) -> None:
    """After the wait it was told, a refused client passes again, once."""
    for _ in range(3):
        await limiter.take(FIVE_PER_SECOND, "k")
    refused = await limiter.take(FIVE_PER_SECOND, "k")
    clock.now += refused.retry_after + 0.001
    assert (await limiter.take(FIVE_PER_SECOND, "k")).allowed
    assert not (await limiter.take(FIVE_PER_SECOND, "k")).allowed


async def test_keys_and_limits_are_independent(limiter: Any) -> None:
    """One client's empty bucket does not touch another client's or another limit's."""
    for _ in range(3):
        await limiter.take(FIVE_PER_SECOND, "a")
    assert not (await limiter.take(FIVE_PER_SECOND, "a")).allowed
    assert (await limiter.take(FIVE_PER_SECOND, "b")).allowed
    assert (await limiter.take(Limit("login", Rate(3, 5)), "a")).allowed


async def test_peek_spends_nothing(limiter: Any) -> None:
    """peek says whether a take would pass and leaves the bucket as it was."""
    once = Limit("once", Rate(burst=1, per_second=0.01))
    assert (await limiter.peek(once, "x")).allowed
    assert (await limiter.peek(once, "x")).allowed
    assert (await limiter.take(once, "x")).allowed
    blocked = await limiter.peek(once, "x")
    assert not blocked.allowed
    assert blocked.retry_after == pytest.approx(100, rel=0.01)


async def test_a_clock_going_backwards_refills_nothing(limiter: Any, clock: Clock) -> None:
    """An instance whose clock lags another's cannot mint tokens."""
    for _ in range(3):
        await limiter.take(FIVE_PER_SECOND, "k")
    clock.now -= 10
    assert not (await limiter.take(FIVE_PER_SECOND, "k")).allowed


async def test_redis_outage_admits() -> None:
    """RedisRateLimiter fails open: a dead Redis must not refuse every order."""
    client = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        decision = await RedisRateLimiter(client, "t").take(FIVE_PER_SECOND, "k")
    finally:
        await client.aclose()
    assert decision.allowed
