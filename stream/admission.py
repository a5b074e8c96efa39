"""Who may hold a viewer slot: connected viewers only, and few unconnected answers per address.

Answering a WHEP offer costs the relay a peer connection and UDP sockets before anything
proves a viewer is there; 320 bare POSTs of a stale offer once took 299 of 300 slots for
a minute. So:

- a slot (counted against `max_viewers`) is taken only when the viewer's ICE connects;
- an answer not connected within `answer_seconds` expires (its peer is closed);
- one client address holds at most `per_address` unconnected answers (`RateLimited`),
  and all addresses together at most `max_pending` (`RelayFull`), so a flood from one
  address costs a few sockets for a few seconds and never another address's seat.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from stream.errors import RateLimited, RelayFull

DEFAULT_PER_ADDRESS = 4
DEFAULT_ANSWER_SECONDS = 10.0


class Admission:
    """Counts connected viewers and pending answers for one relay process."""

    def __init__(
        self,
        max_connected: int,
        *,
        per_address: int = DEFAULT_PER_ADDRESS,
        answer_seconds: float = DEFAULT_ANSWER_SECONDS,
        max_pending: int | None = None,
        retry_after: int = 10,
    ) -> None:
        self.max_connected = max_connected
        self.per_address = per_address
        self.answer_seconds = answer_seconds
        # Enough that a few flooding addresses can't fill it; bounded so sockets are too.
        if max_pending is None:
            max_pending = max(2 * max_connected, 4 * per_address)
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._connected: set[str] = set()
        self._pending: dict[str, str] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._by_address: Counter[str] = Counter()
        self.expired = 0
        self.refused_full = 0
        self.refused_address = 0

    @property
    def connected(self) -> int:
        return len(self._connected)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_from(self, address: str) -> int:
        return self._by_address[address]

    def reserve(self, resource_id: str, address: str) -> None:
        """Admit a new answer from `address`, or raise RelayFull / RateLimited."""
        if len(self._connected) >= self.max_connected or len(self._pending) >= self.max_pending:
            self.refused_full += 1
            raise RelayFull(retry_after=self.retry_after)
        if self._by_address[address] >= self.per_address:
            self.refused_address += 1
            raise RateLimited(
                f"at most {self.per_address} unconnected viewers per address",
                retry_after=max(1, round(self.answer_seconds)),
            )
        self._pending[resource_id] = address
        self._by_address[address] += 1

    def expire_unless_connected(self, resource_id: str, on_expire: Callable[[], None]) -> None:
        """Start the answer's deadline: `on_expire()` runs if it hasn't connected by then."""
        if resource_id not in self._pending:
            return

        def expire() -> None:
            self._timers.pop(resource_id, None)
            if resource_id in self._pending:
                self.expired += 1
                self.release(resource_id)
                on_expire()

        loop = asyncio.get_running_loop()
        self._timers[resource_id] = loop.call_later(self.answer_seconds, expire)

    def connect(self, resource_id: str) -> bool:
        """The viewer's ICE connected: give it a slot; False if none is left (or it expired)."""
        if resource_id in self._connected:
            return True
        if resource_id not in self._pending:
            return False
        self._forget_pending(resource_id)
        if len(self._connected) >= self.max_connected:
            self.refused_full += 1
            return False
        self._connected.add(resource_id)
        return True

    def release(self, resource_id: str) -> None:
        """The viewer left, failed or was refused; idempotent."""
        self._forget_pending(resource_id)
        self._connected.discard(resource_id)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._pending.clear()
        self._by_address.clear()
        self._connected.clear()

    def _forget_pending(self, resource_id: str) -> None:
        address = self._pending.pop(resource_id, None)
        if address is not None:
            self._by_address[address] -= 1
            if self._by_address[address] <= 0:
                del self._by_address[address]
        timer = self._timers.pop(resource_id, None)
        if timer is not None:
            timer.cancel()
