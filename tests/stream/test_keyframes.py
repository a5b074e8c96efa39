"""Rate limiting of keyframe requests to the publisher."""

from __future__ import annotations

import asyncio

from stream.keyframes import KeyframeRequests


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_first_request_goes_out_at_once() -> None:
    """A request with none sent recently is sent immediately."""
    sent: list[float] = []
    clock = Clock()
    requests = KeyframeRequests(lambda: sent.append(clock.now), interval=0.5, clock=clock)
    requests.request()
    assert sent == [100.0]
    requests.close()


async def test_requests_inside_the_interval_coalesce_into_one_later() -> None:
    """Many requests inside one interval become a single request sent when it ends."""
    sent: list[int] = []
    requests = KeyframeRequests(lambda: sent.append(1), interval=0.05)
    for _ in range(10):
        requests.request()
    assert len(sent) == 1
    assert requests.suppressed == 9
    await asyncio.sleep(0.1)
    assert len(sent) == 2
    requests.close()


async def test_a_keyframe_serves_the_pending_request() -> None:
    """A keyframe arriving before the interval ends cancels the pending request."""
    sent: list[int] = []
    requests = KeyframeRequests(lambda: sent.append(1), interval=0.05)
    requests.request()
    requests.request()
    requests.keyframe_seen()
    await asyncio.sleep(0.1)
    assert sent == [1]
    requests.close()


async def test_close_cancels_the_timer() -> None:
    """Nothing is sent after close()."""
    sent: list[int] = []
    requests = KeyframeRequests(lambda: sent.append(1), interval=0.05)
    requests.request()
    requests.request()
    requests.close()
    await asyncio.sleep(0.1)
    assert sent == [1]
