"""Group commit: requests arriving within a few milliseconds share one durable write.

One SQL commit per order caps a worker at a few hundred orders per second; one commit for
every batch gets many times that, and each caller still gets its answer only after its
own row is committed. The batch closes when it is full or when the window since its
first item passes, so light traffic waits at most one window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shop.tasks import TaskSet

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class GroupCommitter(Generic[T, R]):
    """Collects items and hands them to `flush` in batches; one flush runs at a time.

    `flush` returns one result (or exception) per item, in order. If `flush` itself
    raises, every item of that batch gets the exception.
    """

    def __init__(self, flush: Flush[T, R], *, window_s: float, max_batch: int) -> None:
        self._flush = flush
        self._window = window_s
        self._max = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wakeup = asyncio.Event()
        self._tasks = TaskSet()
        self._closed = False

    def start(self) -> None:
        self._closed = False
        self._tasks.spawn(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Flush what is pending, then end (never cut a commit in half)."""
        self._closed = True
        self._wakeup.set()
        await self._tasks.close(grace_s=None)

    async def submit(self, item: T) -> R:
        if self._closed or not self._tasks:
            raise RuntimeError("group committer is not running")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        backlog = False
        while True:
            if not self._pending:
                # Checked before every wait: stop() may have come while a batch was in its
                # window or its flush, and its wake-up was consumed by then.
                if self._closed:
                    return
                await self._wakeup.wait()
                self._wakeup.clear()
                continue
            # Give concurrent requests a moment to join a batch that starts from idle,
            # unless it is full or we are stopping. Items that queued behind the last
            # flush have waited already, and the batch they make is as large as waiting
            # would make it; a window on top only lengthens the tail (measured at 500
            # orders/s, bench/orders.py).
            if (
                not (backlog or self._closed)
                and len(self._pending) < self._max
                and self._window > 0
            ):
                await asyncio.sleep(self._window)
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            try:
                await self._flush_batch(batch)
            except Exception as exc:  # never let one bad batch stop every later order
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            backlog = bool(self._pending)

    async def _flush_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        try:
            results: Sequence[R | BaseException] = await self._flush(items)
        except Exception as exc:  # the batch failed as a whole: every caller hears it
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (request cancelled)
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
