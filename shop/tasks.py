"""One owner for the shop's background tasks (stream/tasks.py's TaskSet style; stream keeps
its own, since stream never imports shop).

The event loop keeps only weak references to tasks, so a task nobody holds can be
garbage-collected mid-run; the set holds them while they run. Loops are asked to stop
between steps first (`stopping`), and only those that overrun the grace period are
cancelled: a step cut in half mid-query would leave its SQL connection broken at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("farmlive.tasks")


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def every(
        self, interval_s: float, step: Callable[[], Awaitable[object]], *, name: str
    ) -> asyncio.Task[Any]:
        """Run `step` every `interval_s` until stopped; a failing step is logged and retried."""

        async def loop() -> None:
            while not self.stopping.is_set():
                await self.pause(interval_s)
                if self.stopping.is_set():
                    return
                try:
                    await step()
                except Exception:
                    log.exception("%s failed; retrying", name)

        return self.spawn(loop(), name=name)

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the set stops."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self, grace_s: float | None = 2.0) -> None:
        """Ask every loop to stop, wait up to `grace_s` (None: as long as they take; 0:
        cancel at once), then cancel what is left. The set may be started again after."""
        self.stopping.set()
        while self._tasks:
            tasks = list(self._tasks)
            late: set[asyncio.Task[Any]] = set(tasks)
            if grace_s is None or grace_s > 0:
                _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
        self.stopping.clear()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())
