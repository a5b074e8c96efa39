"""Buyer messages written by the order transition itself, and a recorder that chains several.

`NotificationRecorder` is a TransitionRecorder (shop/adapters/sql/recorder.py): inside the
transaction that moves an order it queues the buyer's message for that move (received,
confirmed, shipped with its tracking link, delivered) in the `notifications` outbox, so a
message exists exactly when its move committed, and its dedup key (`<order>:<event>`)
keeps it to one whatever repeats. `ChainRecorder` lets the ledger's recorder and this one
both hear every move.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from shop.adapters.sql.recorder import TransitionRecorder
from shop.adapters.sql.tables import notifications, shipments
from shop.money import format_vnd
from shop.notify.port import MessageEvent
from shop.order_record import TransitionRecord

# The ledger's event name -> the buyer's message (paid and confirmed both read "confirmed").
_MESSAGES = {
    "placed": MessageEvent.RECEIVED,
    "confirmed": MessageEvent.CONFIRMED,
    "paid": MessageEvent.CONFIRMED,
    "shipped": MessageEvent.SHIPPED,
    "delivered": MessageEvent.DELIVERED,
}


class ChainRecorder:
    """Every recorder in turn, in the same transaction."""

    def __init__(self, *recorders: TransitionRecorder | None) -> None:
        self._recorders = [r for r in recorders if r is not None]

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        for recorder in self._recorders:
            recorder.record(conn, records)


class NotificationRecorder:
    def __init__(self, dialect: str, carrier_names: dict[str, str] | None = None) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self._add = insert(notifications).on_conflict_do_nothing()  # built once
        self._names = carrier_names or {"ghn": "GHN", "ghtk": "GHTK"}

    def record(self, conn: Connection, records: Sequence[TransitionRecord]) -> None:
        wanted = [r for r in records if r.event in _MESSAGES]
        if not wanted:
            return
        shipped = [r.order_id for r in wanted if r.event == "shipped"]
        tracking = {}
        if shipped:
            result = conn.execute(
                select(shipments.c.order_id, shipments.c.carrier, shipments.c.tracking,
                       shipments.c.tracking_url).where(shipments.c.order_id.in_(shipped))
            )  # fmt: skip
            tracking = {row.order_id: row for row in result}
        rows = []
        for r in wanted:
            event = _MESSAGES[r.event]
            params = {"order_code": r.code, "total": format_vnd(r.amount)}
            ship = tracking.get(r.order_id)
            if ship is not None:
                params.update(
                    carrier=self._names.get(ship.carrier, ship.carrier),
                    tracking=ship.tracking or "",
                    tracking_url=ship.tracking_url or "",
                )
            rows.append({
                "dedup_key": f"{r.order_id}:{event.value}", "order_id": r.order_id,
                "event": event.value, "phone": r.buyer_phone, "params": params,
                "state": "pending", "attempts": 0, "next_attempt_at": r.ts, "created_at": r.ts,
            })  # fmt: skip
        conn.execute(self._add, rows)
