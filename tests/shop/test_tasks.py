"""shop/tasks.py: loops stop between steps, overrunning ones are cancelled, sets restart."""

from __future__ import annotations

import asyncio

from shop.tasks import TaskSet


async def test_a_step_in_flight_finishes_before_close_returns() -> None:
    """close() lets a running step end (no SQL cut in half), then the loop exits."""
    tasks = TaskSet()
    started, finished = asyncio.Event(), []

    async def step() -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.append(1)

    tasks.every(0.001, step, name="t")
    await asyncio.wait_for(started.wait(), 5)
    await tasks.close(grace_s=5)
    assert finished and len(tasks) == 0


async def test_a_loop_that_overruns_the_grace_is_cancelled() -> None:
    """A task that ignores `stopping` is cancelled once the grace period is over."""
    tasks = TaskSet()
    cancelled = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tasks.spawn(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await asyncio.wait_for(tasks.close(grace_s=0.05), 5)
    assert cancelled.is_set() and len(tasks) == 0


async def test_a_failing_step_is_retried_and_a_closed_set_can_start_again() -> None:
    """An exception in a step does not end the loop; after close() the set runs anew."""
    tasks = TaskSet()
    calls: list[int] = []
    third = asyncio.Event()

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        if len(calls) >= 3:
            third.set()

    tasks.every(0.001, flaky, name="flaky")
    await asyncio.wait_for(third.wait(), 5)
    await tasks.close()
    ran = asyncio.Event()

    async def again() -> None:
        ran.set()

    tasks.every(0.001, again, name="again")
    await asyncio.wait_for(ran.wait(), 5)
    await tasks.close()
