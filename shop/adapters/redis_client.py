"""The one way the code base opens a Redis client: a bounded blocking pool, timeouts, and
one quick retry.

A burst waits (up to `timeout_s`) for one of `max_connections` connections instead of
opening thousands or failing; a dead Redis fails within `timeout_s` instead of hanging;
the single retry replaces a connection that a Redis restart broke (every command the
code sends is safe to repeat: the gate's scripts are idempotent per order id). The client
owns its pool: `aclose()` closes both.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def redis_client(url: str, *, timeout_s: float = 2.0, max_connections: int = 256) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 1),
    )
    return Redis.from_pool(pool)
