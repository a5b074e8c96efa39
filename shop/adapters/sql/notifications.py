"""SqlNotifications: the buyer-message outbox (one row per dedup key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.tables import notifications
from shop.notify.port import Message, MessageEvent
from shop.notify.service import Outgoing


class SqlNotifications:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def enqueue(self, messages: Sequence[tuple[str | None, Message]], now: datetime) -> int:
        if not messages:
            return 0
        rows = [
            {
                "dedup_key": m.dedup_key,
                "order_id": order_id,
                "event": m.event.value,
                "phone": m.phone,
                "params": m.params,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for order_id, m in messages
        ]
        stmt = self._insert(notifications).on_conflict_do_nothing().returning(notifications.c.id)
        async with self._engine.begin() as conn:
            return len((await conn.execute(stmt, rows)).all())

    async def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Outgoing]:
        due = (
            select(notifications.c.id)
            .where(notifications.c.state == "pending", notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.next_attempt_at, notifications.c.id)
            .limit(limit)
        )
        lease = now + timedelta(seconds=lease_s)
        # One conditional UPDATE for the whole batch: a row another instance claimed (or
        # one that was sent) meanwhile no longer matches the pending-and-due condition,
        # so it is skipped here, as the row-by-row claim did, without a statement per row.
        claim = (
            update(notifications)
            .where(
                notifications.c.id.in_(due.scalar_subquery()),
                notifications.c.state == "pending",
                notifications.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease)
            .returning(notifications)
        )
        async with self._engine.begin() as conn:
            rows = sorted((await conn.execute(claim)).all(), key=lambda r: r.id)
        return [
            Outgoing(
                row.id,
                Message(row.dedup_key, row.phone, MessageEvent(row.event), dict(row.params)),
                int(row.attempts),
            )
            for row in rows
        ]

    async def sent_many(self, done: Sequence[tuple[int, str]], channel: str, now: datetime) -> None:
        """Mark (row id, provider ref) pairs sent, in one transaction."""
        if not done:
            return
        stmt = (
            update(notifications)
            .where(notifications.c.id == bindparam("row_id"))
            .values(state="sent", channel=channel, provider_ref=bindparam("ref"), sent_at=now,
                    next_attempt_at=None, last_error=None)
        )  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(stmt, [{"row_id": i, "ref": ref} for i, ref in done])

    async def retry(self, row_id: int, attempts: int, at: datetime | None, error: str) -> None:
        values: dict[str, Any] = {"attempts": attempts, "last_error": error, "next_attempt_at": at}
        if at is None:
            values["state"] = "failed"
        async with self._engine.begin() as conn:
            await conn.execute(
                update(notifications).where(notifications.c.id == row_id).values(**values)
            )

    async def for_order(self, order_id: str) -> list[dict[str, Any]]:
        """An order's messages, for the staff view (state, attempts, last error)."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(notifications.c.event, notifications.c.state, notifications.c.channel,
                       notifications.c.attempts, notifications.c.last_error,
                       notifications.c.next_attempt_at, notifications.c.sent_at)
                .where(notifications.c.order_id == order_id)
                .order_by(notifications.c.id)
            )  # fmt: skip
            return [dict(r._mapping) for r in result]

    async def counts(self) -> dict[str, int]:
        """Messages by state: the staff's view of whether the provider is keeping up."""
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(notifications.c.state, func.count()).group_by(notifications.c.state)
            )
            return {r[0]: int(r[1]) for r in result}
