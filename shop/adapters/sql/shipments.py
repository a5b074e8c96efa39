"""SqlShipments: one waybill job per order (the order id is the key), leased to one worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql.tables import shipments
from shop.carriers.port import Waybill
from shop.shipping import Shipment, ShipmentState

_CANCELLED = ShipmentState.CANCELLED.value
_FIELDS = [c.name for c in shipments.columns if c.name not in ("created_at", "updated_at")]


def _shipment(row: Any) -> Shipment:
    data = {k: row._mapping[k] for k in _FIELDS}
    data["state"] = ShipmentState(data["state"])
    return Shipment(**data)


class SqlShipments:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def _rows(self, conn: AsyncConnection, order_ids: Sequence[str]) -> dict[str, Shipment]:
        result = await conn.execute(
            select(shipments).where(shipments.c.order_id.in_(list(order_ids)))
        )
        return {r.order_id: _shipment(r) for r in result}

    async def request(
        self, order_ids: Sequence[str], carrier: str, batch_id: str | None, now: datetime
    ) -> list[Shipment]:
        if not order_ids:
            return []
        rows = [
            {"order_id": i, "carrier": carrier, "state": ShipmentState.QUEUED.value,
             "attempts": 0, "next_attempt_at": now, "batch_id": batch_id,
             "created_at": now, "updated_at": now}
            for i in order_ids
        ]  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(self._insert(shipments).on_conflict_do_nothing(), rows)
            # A failed or cancelled job may be asked again (staff fixed the address).
            await conn.execute(
                update(shipments)
                .where(
                    shipments.c.order_id.in_(list(order_ids)),
                    shipments.c.state.in_([ShipmentState.FAILED.value, _CANCELLED]),
                )
                .values(carrier=carrier, state=ShipmentState.QUEUED.value, attempts=0,
                        next_attempt_at=now, last_error=None, batch_id=batch_id, updated_at=now)
            )  # fmt: skip
            found = await self._rows(conn, order_ids)
        return [found[i] for i in order_ids if i in found]

    async def by_hand(self, order_id: str, carrier: str, tracking: str, now: datetime) -> Shipment:
        values = {"carrier": carrier, "state": ShipmentState.CREATED.value,
                  "tracking": tracking, "attempts": 0, "next_attempt_at": None,
                  "last_error": None, "updated_at": now}  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(
                self._insert(shipments)
                .values(order_id=order_id, created_at=now, **values)
                .on_conflict_do_nothing()
            )
            # A waybill already made stays (shipping is idempotent); anything else is replaced.
            await conn.execute(
                update(shipments)
                .where(shipments.c.order_id == order_id,
                       shipments.c.state != ShipmentState.CREATED.value)
                .values(**values)
            )  # fmt: skip
            return (await self._rows(conn, [order_id]))[order_id]

    async def get_many(self, order_ids: Sequence[str]) -> dict[str, Shipment]:
        async with self._engine.connect() as conn:
            return await self._rows(conn, order_ids)

    async def claim(
        self, now: datetime, lease_s: float, limit: int, order_ids: Sequence[str] | None = None
    ) -> list[Shipment]:
        query = (
            select(shipments)
            .where(shipments.c.state == ShipmentState.QUEUED.value,
                   shipments.c.next_attempt_at <= now)
            .order_by(shipments.c.next_attempt_at)
            .limit(limit)
        )  # fmt: skip
        if order_ids is not None:
            query = query.where(shipments.c.order_id.in_(list(order_ids)))
        lease = now + timedelta(seconds=lease_s)
        claimed = []
        async with self._engine.begin() as conn:
            for row in (await conn.execute(query)).all():
                # Conditional on what was read: a concurrent claim wins and we skip the job.
                result = await conn.execute(
                    update(shipments)
                    .where(shipments.c.order_id == row.order_id,
                           shipments.c.state == ShipmentState.QUEUED.value,
                           shipments.c.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=lease)
                )  # fmt: skip
                if result.rowcount == 1:
                    claimed.append(_shipment(row))
        return claimed

    async def created(self, order_id: str, waybill: Waybill, now: datetime) -> Shipment:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(shipments)
                .where(shipments.c.order_id == order_id)
                .values(state=ShipmentState.CREATED.value, tracking=waybill.tracking,
                        tracking_url=waybill.tracking_url, fee=waybill.fee,
                        next_attempt_at=None, last_error=None, updated_at=now)
            )  # fmt: skip
            return (await self._rows(conn, [order_id]))[order_id]

    async def retry(
        self, order_id: str, attempts: int, at: datetime | None, error: str, now: datetime
    ) -> None:
        values: dict[str, Any] = {"attempts": attempts, "next_attempt_at": at,
                                  "last_error": error, "updated_at": now}  # fmt: skip
        if at is None:
            values["state"] = ShipmentState.FAILED.value
        async with self._engine.begin() as conn:
            await conn.execute(
                update(shipments).where(shipments.c.order_id == order_id).values(**values)
            )

    async def find(self, carrier: str, tracking: str) -> Shipment | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(shipments)
                    .where(shipments.c.carrier == carrier, shipments.c.tracking == tracking)
                    .limit(1)
                )
            ).one_or_none()
        return None if row is None else _shipment(row)

    async def delivery(self, order_id: str, state: str, raw: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(shipments)
                .where(shipments.c.order_id == order_id)
                .values(delivery=state, raw_status=raw, updated_at=now)
            )

    async def batch(self, batch_id: str) -> list[Shipment]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(shipments)
                .where(shipments.c.batch_id == batch_id)
                .order_by(shipments.c.created_at)
            )
            return [_shipment(r) for r in result]
