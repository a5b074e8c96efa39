"""SqlMoments: the replay moments of each session (shop.replay.MomentStore)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql.tables import session_moments
from shop.replay import Moment


def _moment(row: Any) -> Moment:
    return Moment(row.session_id, row.at, row.kind, row.offer_id, row.title, row.price)


class SqlMoments:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, moment: Moment) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(session_moments).values(
                    session_id=moment.session_id,
                    at=moment.at,
                    kind=moment.kind,
                    offer_id=moment.offer_id,
                    title=moment.title[:200],
                    price=moment.price,
                )
            )

    async def last(self, session_id: int, kind: str) -> Moment | None:
        query = (
            select(session_moments)
            .where(session_moments.c.session_id == session_id, session_moments.c.kind == kind)
            .order_by(session_moments.c.at.desc(), session_moments.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _moment(row) if row is not None else None

    async def list(self, session_id: int) -> list[Moment]:
        query = (
            select(session_moments)
            .where(session_moments.c.session_id == session_id)
            .order_by(session_moments.c.at, session_moments.c.id)
        )
        async with self._engine.connect() as conn:
            return [_moment(row) for row in await conn.execute(query)]
