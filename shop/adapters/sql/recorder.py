"""The extension point of the SQL transition path: called inside each move's transaction.

A recorder gets the live connection of the transaction that changes the orders and the
typed records of those changes (shop/order_record.py); whatever it writes commits or rolls
back with them. It is called once per group-commit batch of new orders (event `placed`),
once per staff or payment move, and once per expiry sweep, always with at least one
record. It must not commit, and an exception it raises aborts the whole change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from shop.order_record import TransitionRecord


class TransitionRecorder(Protocol):
    async def record(self, conn: AsyncConnection, records: Sequence[TransitionRecord]) -> None: ...


class NoRecorder:
    """The default: nothing beyond the order, its outbox row and the audit log."""

    async def record(self, conn: AsyncConnection, records: Sequence[TransitionRecord]) -> None:
        return None
