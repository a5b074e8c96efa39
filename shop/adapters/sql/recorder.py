"""The extension point of the SQL transition path: called inside each move's transaction.

A recorder gets the live connection of the transaction that changes the orders and the
typed records of those changes (shop/order_record.py); whatever it writes commits or rolls
back with them. It is called once per group-commit batch of new orders (event `placed`),
once per staff or payment move, and once per expiry sweep, always with at least one
record. It must not commit, and an exception it raises aborts the whole change.

Recorders are sync code over a `Connection`: the group commit calls them inside its
one-go transaction (shop/adapters/sql/sync_tx.py), the async moves through `run_sync`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection

from shop.order_record import TransitionRecord


class TransitionRecorder(Protocol):
    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None: ...


class NoRecorder:
    """The default: nothing beyond the order, its outbox row and the audit log."""

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        return None
