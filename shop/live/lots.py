"""Which live sessions sell from which lot, so a stock change reaches the right rooms."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence

from shop.catalogue import LiveSession

ListSessions = Callable[[], Awaitable[Sequence[LiveSession]]]


class SessionLots:
    """A lot -> sessions index over the live sessions, rebuilt at most every `max_age_s`.

    Orders on one instance can be applied by another instance's outbox relay, so the index
    is read from the catalogue rather than from this instance's viewers. A lot the index
    has never seen forces an early rebuild (a new offer), and a rebuild reports every
    (session, lot) pair it did not know, so those rooms get the lot's current figures.
    """

    def __init__(
        self,
        list_sessions: ListSessions,
        *,
        max_age_s: float = 1.0,
        min_age_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list_sessions = list_sessions
        self._max_age = max_age_s
        self._min_age = min_age_s
        self._clock = clock
        self._by_lot: dict[int, set[int]] = {}
        self._built_at: float | None = None

    def invalidate(self) -> None:
        self._built_at = None if self._built_at is None else -float("inf")

    async def sessions_for(
        self, lot_ids: Collection[int]
    ) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
        """({session: changed lots it sells}, {session: lots newly found in it})."""
        discovered: dict[int, set[int]] = {}
        if self._stale(lot_ids):
            discovered = await self._rebuild()
        found: dict[int, set[int]] = {}
        for lot_id in lot_ids:
            for session_id in self._by_lot.get(lot_id, ()):
                found.setdefault(session_id, set()).add(lot_id)
        return found, discovered

    def _stale(self, lot_ids: Collection[int]) -> bool:
        if self._built_at is None:
            return True
        age = self._clock() - self._built_at
        unknown = any(lot_id not in self._by_lot for lot_id in lot_ids)
        return age >= self._max_age or (unknown and age >= self._min_age)

    async def _rebuild(self) -> dict[int, set[int]]:
        first = self._built_at is None
        by_lot: dict[int, set[int]] = {}
        for session in await self._list_sessions():
            for offer in session.offers:
                by_lot.setdefault(offer.lot_id, set()).add(session.id)
        discovered: dict[int, set[int]] = {}
        if not first:
            for lot_id, sessions in by_lot.items():
                for session_id in sessions - self._by_lot.get(lot_id, set()):
                    discovered.setdefault(session_id, set()).add(lot_id)
        self._by_lot = by_lot
        self._built_at = self._clock()
        return discovered
