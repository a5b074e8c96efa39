"""The relay registry on real Redis: first claim wins, records live while the room does."""

from __future__ import annotations

from redis.asyncio import Redis

from server.relay_registry import RelayRegistry


async def test_claims_refreshes_and_releases(redis_prefix: tuple[str, str]) -> None:
    """A holds the session; B is told A; once A's room is gone the record goes and B can claim."""
    url, prefix = redis_prefix
    redis = Redis.from_url(url)
    rooms = {"7"}
    a = RelayRegistry(redis, "http://a:8100/", key_prefix=prefix, holds=lambda s: s in rooms)
    b = RelayRegistry(redis, "http://b:8100", key_prefix=prefix, holds=lambda s: False, ttl=5)
    try:
        assert a.self_url == "http://a:8100"
        assert await a.claim("7") == "http://a:8100"
        assert await b.claim("7") == "http://a:8100"  # taken: B redirects
        assert await b.owner("7") == "http://a:8100"
        assert await b.owner("8") is None

        ttl_before = await redis.pttl(f"{prefix}:relay:7")
        await redis.pexpire(f"{prefix}:relay:7", 1000)
        await a.refresh_once()  # the room lives: its record is extended again
        assert await redis.pttl(f"{prefix}:relay:7") > 1000
        assert ttl_before > 1000

        await b.release("7")  # not B's: nothing happens
        assert await a.owner("7") == "http://a:8100"

        rooms.clear()
        await a.refresh_once()  # the room is gone: A lets go
        assert await a.owner("7") is None
        assert await b.claim("7") == "http://b:8100"
    finally:
        await b.stop()
        await a.stop()
        await redis.aclose()
