"""SqlRestream: each session's restream destinations (shop.restream.RestreamStore)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import session_restreams
from shop.restream import Destination, mask_url


class SqlRestream:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def destinations(self, session_id: int) -> list[Destination]:
        query = (
            select(session_restreams.c.url, session_restreams.c.enabled)
            .where(session_restreams.c.session_id == session_id)
            .order_by(session_restreams.c.position)
        )
        async with self._engine.connect() as conn:
            return [Destination(row.url, bool(row.enabled)) for row in await conn.execute(query)]

    async def replace(
        self, actor_id: int | None, session_id: int, destinations: list[Destination]
    ) -> None:
        """The session's list becomes `destinations`, audited with the URLs masked."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(session_restreams).where(session_restreams.c.session_id == session_id)
            )
            if destinations:
                await conn.execute(
                    insert(session_restreams),
                    [
                        {
                            "session_id": session_id,
                            "position": i,
                            "url": d.url,
                            "enabled": d.enabled,
                        }
                        for i, d in enumerate(destinations)
                    ],
                )
            detail = {
                "destinations": [
                    {"url": mask_url(d.url), "enabled": d.enabled} for d in destinations
                ]
            }
            await audit.record(
                conn, actor_id, "session.restream", "live_session", session_id, detail
            )
