"""SingleFlight: concurrent calls with one key share the first call's outcome.

Placing uses it so that a buyer's app retrying while its first request is still being
placed (a weak link, a double tap) waits for that first placement instead of placing
again, which would spend the buyer's hold budget twice (shop/hold_policy.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _retrieve(future: asyncio.Future[V]) -> None:
    """Mark an outcome seen, so one nobody waited for is not logged as lost."""
    if not future.cancelled():
        future.exception()


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, call: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """`call()`'s result, or the running call's for this key; True when shared."""
        running = self._running.get(key)
        if running is not None:
            try:
                return await asyncio.shield(running), True
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this caller itself was cancelled
                return await self.run(key, call)  # the first one was: run it here
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._running[key] = future
        try:
            value = await call()
        except asyncio.CancelledError:
            future.cancel()  # waiters run it on their own
            raise
        except Exception as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(value)
            return value, False
        finally:
            del self._running[key]
