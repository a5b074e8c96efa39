"""Keep viewers' media timestamps running forward across publisher reconnects."""

from __future__ import annotations

import time
from collections.abc import Callable


class Timeline:
    """Maps each publisher's timestamps onto one continuous timeline per session and kind.

    aiortc's receiver restarts timestamps at zero for every new connection. A viewer's
    sender turns them into RTP timestamps, and a jump backwards when the host reconnects
    makes browsers' jitter buffers hold or drop frames; so a new publisher continues
    where the old one stopped, plus the wall-clock time the gap lasted.
    """

    def __init__(self, clock_rate: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock_rate = clock_rate
        self._clock = clock
        self._epoch: int | None = None
        self._offset = 0
        self._last_out: int | None = None
        self._last_at = 0.0

    def map(self, epoch: int, pts: int) -> int:
        """The session timestamp for `pts` from the publisher numbered `epoch`."""
        now = self._clock()
        if epoch != self._epoch:
            self._epoch = epoch
            if self._last_out is None:
                self._offset = 0
            else:
                gap = max(1, round((now - self._last_at) * self._clock_rate))
                self._offset = self._last_out + gap - pts
        out = pts + self._offset
        self._last_out = out
        self._last_at = now
        return out
