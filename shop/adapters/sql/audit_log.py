"""Reading the audit log (writing is shop.adapters.sql.audit.record, inside each change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.tables import audit_log, users


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_email: str | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] | None


class SqlAuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(
        self,
        *,
        before_id: int | None = None,
        limit: int = 100,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first; page with `before_id` (the last id of the previous page)."""
        query = (
            select(audit_log, users.c.email)
            .select_from(audit_log.outerjoin(users, users.c.id == audit_log.c.actor_id))
            .order_by(audit_log.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        if action:
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        if object_type:
            query = query.where(audit_log.c.object_type == object_type)
        if object_id:
            query = query.where(audit_log.c.object_id == object_id)
        async with self._engine.connect() as conn:
            return [
                AuditEntry(
                    id=r.id,
                    at=r.at,
                    actor_id=r.actor_id,
                    actor_email=r.email,
                    action=r.action,
                    object_type=r.object_type,
                    object_id=r.object_id,
                    detail=r.detail,
                )
                for r in await conn.execute(query)
            ]
