"""SqlTransferInbox: incoming bank transfers and the staff queue of those needing a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import bank_transfers, payment_events, utcnow
from shop.errors import NotFound
from shop.payments.transfer_matching import REVIEW, Outcome, TransferRecord


def _record(row: Any) -> TransferRecord:
    m = row._mapping
    return TransferRecord(
        id=m["id"],
        provider=m["provider"],
        amount=int(m["amount"]),
        content=m["content"],
        bank_reference=m["bank_reference"],
        reference=m["reference"],
        order_id=m["order_id"],
        outcome=Outcome(m["outcome"]),
    )


class SqlTransferInbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def _upsert(self, values: dict[str, Any], replace: bool) -> Any:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(bank_transfers).values(**values)
        if not replace:
            return stmt.on_conflict_do_nothing()
        keep = {k: stmt.excluded[k] for k in ("reference", "order_id", "outcome")}
        return stmt.on_conflict_do_update(index_elements=["id"], set_=keep)

    async def record(self, record: TransferRecord, *, authoritative: bool) -> TransferRecord:
        values = {
            "id": record.id,
            "provider": record.provider,
            "amount": record.amount,
            "content": record.content,
            "bank_reference": record.bank_reference,
            "reference": record.reference,
            "order_id": record.order_id,
            "outcome": record.outcome.value,
            "received_at": utcnow(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(self._upsert(values, authoritative))
            row = (
                await conn.execute(select(bank_transfers).where(bank_transfers.c.id == record.id))
            ).one()
        return _record(row)

    async def refund_by_hand(self, order_id: str) -> None:
        # Leaves the sweeper's list of refunds to send through a provider's API.
        async with self._engine.begin() as conn:
            await conn.execute(
                update(payment_events)
                .where(payment_events.c.id == f"refund:{order_id}")
                .values(type="refund.manual")
            )

    async def queue(self, *, resolved: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Transfers that need a person, oldest first (or those already resolved)."""
        query = (
            select(bank_transfers)
            .where(bank_transfers.c.outcome.in_([o.value for o in REVIEW]))
            .where(
                bank_transfers.c.resolved_at.is_not(None)
                if resolved
                else bank_transfers.c.resolved_at.is_(None)
            )
            .order_by(bank_transfers.c.received_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def resolve(self, transfer_id: str, actor_id: int, resolution: str) -> dict[str, Any]:
        """Staff dealt with it (refunded by hand, matched by hand, ...): off the queue."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(bank_transfers)
                .where(bank_transfers.c.id == transfer_id, bank_transfers.c.resolved_at.is_(None))
                .values(resolved_at=utcnow(), resolved_by=actor_id, resolution=resolution)
            )
            row = (
                await conn.execute(select(bank_transfers).where(bank_transfers.c.id == transfer_id))
            ).one_or_none()
            if row is None:
                raise NotFound("no such transfer")
            if result.rowcount == 1:
                await audit.record(
                    conn, actor_id, "transfer.resolve", "bank_transfer", transfer_id,
                    {"resolution": resolution},
                )  # fmt: skip
        return dict(row._mapping)
