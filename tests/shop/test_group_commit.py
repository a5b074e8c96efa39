"""GroupCommitter: who shares a flush, who waits for the window, and what each caller hears."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shop.group_commit import GroupCommitter


class Recorder:
    """A flush that records its batches and can be held open to queue items behind it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> Sequence[int | BaseException]:
        self.batches.append(list(items))
        self.started.set()
        await self.gate.wait()
        return [ValueError(i) if i < 0 else i * 10 for i in items]


async def running(
    flush: Recorder, *, window_s: float, max_batch: int = 100
) -> GroupCommitter[int, int]:
    committer: GroupCommitter[int, int] = GroupCommitter(
        flush, window_s=window_s, max_batch=max_batch
    )
    committer.start()
    return committer


async def test_items_within_the_window_share_one_flush_and_each_hears_its_own() -> None:
    flush = Recorder()
    committer = await running(flush, window_s=0.05)
    results = await asyncio.gather(
        *(committer.submit(i) for i in (1, 2, -3)), return_exceptions=True
    )
    assert flush.batches == [[1, 2, -3]]
    assert results[:2] == [10, 20] and isinstance(results[2], ValueError)
    await committer.stop()


async def test_a_batch_from_idle_waits_for_the_window() -> None:
    flush = Recorder()
    committer = await running(flush, window_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await committer.submit(1) == 10
    assert loop.time() - started >= 0.19
    await committer.stop()


async def test_items_queued_behind_a_flush_go_next_without_another_window() -> None:
    """What queued during a flush has waited already: it is flushed as soon as that ends."""
    flush = Recorder()
    committer = await running(flush, window_s=0.3)
    flush.gate.clear()
    first = asyncio.ensure_future(committer.submit(1))
    await asyncio.wait_for(flush.started.wait(), 1)
    queued = [asyncio.ensure_future(committer.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    released = loop.time()
    flush.gate.set()
    assert await asyncio.gather(first, *queued) == [10, 20, 30]
    assert flush.batches == [[1], [2, 3]]
    assert loop.time() - released < 0.2  # not the 0.3 s window again
    await committer.stop()


async def test_after_the_backlog_an_idle_start_waits_again() -> None:
    flush = Recorder()
    committer = await running(flush, window_s=0.2)
    await committer.submit(1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await committer.submit(2)
    assert loop.time() - started >= 0.19
    assert flush.batches == [[1], [2]]
    await committer.stop()


async def test_a_full_batch_does_not_wait_and_the_rest_follow() -> None:
    flush = Recorder()
    committer = await running(flush, window_s=5, max_batch=2)
    results = await asyncio.wait_for(asyncio.gather(*(committer.submit(i) for i in range(1, 5))), 1)
    assert results == [10, 20, 30, 40]
    assert flush.batches == [[1, 2], [3, 4]]
    await committer.stop()


async def test_a_flush_that_raises_fails_its_batch_and_the_next_batch_still_runs() -> None:
    calls: list[list[int]] = []

    async def flaky(items: Sequence[int]) -> Sequence[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return list(items)

    committer: GroupCommitter[int, int] = GroupCommitter(flaky, window_s=0, max_batch=10)
    committer.start()
    with pytest.raises(RuntimeError, match="went away"):
        await committer.submit(1)
    assert await committer.submit(2) == 2
    await committer.stop()


async def test_stop_flushes_what_is_pending_and_refuses_more() -> None:
    flush = Recorder()
    committer = await running(flush, window_s=0.05)
    pending = asyncio.ensure_future(committer.submit(7))
    await asyncio.sleep(0)  # in its window now: stop() must not consume the only wake-up
    await asyncio.wait_for(committer.stop(), 5)
    assert pending.result() == 70
    with pytest.raises(RuntimeError, match="not running"):
        await committer.submit(8)
