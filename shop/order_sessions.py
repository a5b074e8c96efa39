"""The order path's view of live sessions: cached for a second, one read per expiry."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from shop.catalogue import LiveSession


class SessionSource(Protocol):
    async def get_session(self, session_id: int) -> LiveSession: ...


class SessionCache:
    """Staff changes on this instance invalidate an entry at once (`forget`)."""

    def __init__(self, sessions: SessionSource, ttl_s: float = 1.0) -> None:
        self._sessions = sessions
        self._ttl = ttl_s
        self._cache: dict[int, tuple[float, LiveSession]] = {}
        self._loads: dict[int, asyncio.Future[LiveSession]] = {}
        self._gen: dict[int, int] = {}

    async def get(self, session_id: int) -> LiveSession:
        cached = self._cache.get(session_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        # One read per expiry, however many orders arrive meanwhile: they all wait on it.
        loading = self._loads.get(session_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load(session_id))
            self._loads[session_id] = loading
            loading.add_done_callback(lambda _: self._loads.pop(session_id, None))
        return await asyncio.shield(loading)

    async def _load(self, session_id: int) -> LiveSession:
        started, generation = time.monotonic(), self._gen.get(session_id, 0)
        session = await self._sessions.get_session(session_id)
        if self._gen.get(session_id, 0) == generation:  # not changed meanwhile
            self._cache[session_id] = (started, session)
        return session

    def forget(self, session_id: int) -> None:
        self._gen[session_id] = self._gen.get(session_id, 0) + 1
        self._cache.pop(session_id, None)
        self._loads.pop(session_id, None)
