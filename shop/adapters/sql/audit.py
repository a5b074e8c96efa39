"""Append-only record of staff actions (who pinned, confirmed, cancelled, banned, when)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shop.adapters.sql.tables import audit_log, utcnow


async def record(
    conn: AsyncConnection,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: object,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit row inside the caller's transaction, so it lands with the change."""
    await conn.execute(
        audit_log.insert().values(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            detail=detail,
        )
    )
