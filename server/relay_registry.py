"""Which process holds a session's relay, shared through Redis, so any instance can answer.

With several app instances (or `farmlive relay` processes) behind a proxy that spreads
requests without regard to the session, a WHEP viewer may land on an instance whose
relay has never seen the session's publisher. Each process that accepts a session's
publisher records its own media base URL (`FARMLIVE_RELAY_URL`, as clients reach it)
under `{prefix}:relay:{sid}`; an instance that does not hold the session answers WHIP,
WHEP and DELETE with `307` to that URL (RFC 9725 section 4.5).

The record is claimed with `SET NX` (the first publisher's process wins), kept alive
every `ttl/3` while the session's room exists in this process (viewers included, so a
host who reconnects comes back to the same relay), and deleted once the room is gone.
If the process dies the record expires after `ttl` and the next publisher claims anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("farmlive.media")

DEFAULT_TTL_SECONDS = 30.0

# Extend or delete the record only while it is still ours.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RelayRegistry:
    """This process's claims on sessions' relays; `owner()` tells where a session's is."""

    def __init__(
        self,
        redis: Any,
        self_url: str,
        *,
        key_prefix: str,
        holds: Callable[[str], bool],
        ttl: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.self_url = self_url.rstrip("/")
        self._redis = redis
        self._prefix = key_prefix
        self._holds = holds
        self._ttl_ms = int(ttl * 1000)
        self._claimed: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}:relay:{session_id}"

    async def owner(self, session_id: str) -> str | None:
        value = await self._redis.get(self._key(session_id))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def claim(self, session_id: str) -> str:
        """Record this process as the session's relay unless another is; returns the holder."""
        key = self._key(session_id)
        if await self._redis.set(key, self.self_url, nx=True, px=self._ttl_ms):
            self._claimed.add(session_id)
            return self.self_url
        holder = await self.owner(session_id)
        if holder is None:  # expired between the two calls: try once more
            return await self.claim(session_id)
        if holder == self.self_url:
            self._claimed.add(session_id)
        return holder

    async def release(self, session_id: str) -> None:
        self._claimed.discard(session_id)
        await self._redis.eval(_RELEASE, 1, self._key(session_id), self.self_url)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._keep_alive(), name="relay-reg")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for session_id in list(self._claimed):
            with contextlib.suppress(Exception):
                await self.release(session_id)

    async def refresh_once(self) -> None:
        for session_id in list(self._claimed):
            if self._holds(session_id):
                key = self._key(session_id)
                kept = await self._redis.eval(_REFRESH, 1, key, self.self_url, self._ttl_ms)
                if not kept:
                    self._claimed.discard(session_id)  # expired and claimed elsewhere
            else:
                await self.release(session_id)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self.refresh_once()
            except Exception:  # Redis away for a moment: the next round retries
                log.warning("could not refresh relay records", exc_info=True)
