"""SqlCompliance: livestreamer identity records and the complaints inbox, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import complaints, session_streamers, utcnow
from shop.compliance import Complaint, ComplaintStatus, StreamerRecord
from shop.errors import NotFound


def _streamer(row: Any) -> StreamerRecord:
    return StreamerRecord(
        session_id=row.session_id,
        full_name=row.full_name,
        id_number=row.id_number,
        organisation=row.organisation,
        phone=row.phone,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        position=row.position,
    )


def _complaint(row: Any) -> Complaint:
    return Complaint(
        id=row.id,
        session_id=row.session_id,
        order_id=row.order_id,
        name=row.name,
        phone=row.phone,
        text=row.text,
        status=ComplaintStatus(row.status),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
    )


class SqlCompliance:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_streamer(
        self,
        actor_id: int | None,
        session_id: int,
        *,
        full_name: str,
        id_number: str,
        organisation: str | None,
        phone: str | None,
        position: str | None = None,
    ) -> StreamerRecord:
        """Record (or replace) who streams this session; the audit log keeps earlier ones."""
        values = {
            "full_name": full_name,
            "id_number": id_number,
            "organisation": organisation,
            "phone": phone,
            "position": position,
            "recorded_at": utcnow(),
            "recorded_by": actor_id,
        }
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                session_streamers.update()
                .where(session_streamers.c.session_id == session_id)
                .values(**values)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    session_streamers.insert().values(session_id=session_id, **values)
                )
            await audit.record(
                conn,
                actor_id,
                "session.streamer",
                "session",
                session_id,
                {"full_name": full_name, "organisation": organisation},
            )
            row = (
                await conn.execute(
                    select(session_streamers).where(session_streamers.c.session_id == session_id)
                )
            ).one()
        return _streamer(row)

    async def get_streamer(self, session_id: int) -> StreamerRecord:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(session_streamers).where(session_streamers.c.session_id == session_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("no livestreamer is recorded for this session yet")
        return _streamer(row)

    async def file_complaint(
        self, *, session_id: int | None, order_id: str | None, name: str, phone: str, text: str
    ) -> Complaint:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                complaints.insert()
                .values(
                    session_id=session_id,
                    order_id=order_id,
                    name=name,
                    phone=phone,
                    text=text,
                    status=ComplaintStatus.OPEN.value,
                    created_at=utcnow(),
                )
                .returning(*complaints.c)
            )
            return _complaint(result.one())

    async def list_complaints(
        self, status: ComplaintStatus | None = None, limit: int = 200
    ) -> list[Complaint]:
        query = select(complaints).order_by(complaints.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(complaints.c.status == status.value)
        async with self._engine.connect() as conn:
            return [_complaint(row) for row in await conn.execute(query)]

    async def resolve_complaint(
        self, actor_id: int | None, complaint_id: int, resolution: str
    ) -> Complaint:
        """Mark a complaint answered with what was done; resolving again updates the note."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                complaints.update()
                .where(complaints.c.id == complaint_id)
                .values(
                    status=ComplaintStatus.RESOLVED.value,
                    resolved_at=utcnow(),
                    resolved_by=actor_id,
                    resolution=resolution,
                )
                .returning(*complaints.c)
            )
            row = result.one_or_none()
            if row is None:
                raise NotFound(f"no complaint {complaint_id}")
            await audit.record(conn, actor_id, "complaint.resolve", "complaint", complaint_id)
        return _complaint(row)
