"""What the public ledger routes and the CLI need from wherever the ledger is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shop.ledger import Entry, Fold


@dataclass(frozen=True, slots=True)
class Head:
    session_id: int
    count: int
    head_hash: str
    sealed_count: int | None = None
    sealed_hash: str | None = None
    sealed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of `ledger verify` for one session: ok, or the first bad seq and why."""

    session_id: int
    count: int
    bad_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_seq is None and not self.reason


class LedgerReader(Protocol):
    async def page(self, session_id: int, after: int, limit: int) -> list[Entry]: ...

    async def head(self, session_id: int) -> Head: ...

    async def fold(self, session_id: int) -> Fold:
        """The fold of the session's entries (a snapshot: callers must not change it)."""
        ...

    async def seal(self, session_id: int, now: datetime) -> Head: ...

    async def held_grams(self, session_id: int) -> int:
        """Grams of this session's orders still waiting for their payment."""
        ...

    async def verify(self, session_id: int) -> Verdict: ...

    async def session_ids(self) -> list[int]: ...
