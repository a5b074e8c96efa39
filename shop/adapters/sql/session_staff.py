"""SqlSessionStaff: who and what a session may use: attached lots, moderators, sale control
(pause, kept open after the end, offer prices).

Each change is audited in its own transaction; the session read (SqlCatalogue.get_session)
carries the result as `attached_lot_ids`, `moderator_ids`, `sale_paused`, `sale_after_end`,
`banned_words` and its offers' prices.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shop.adapters.sql import audit, rows
from shop.adapters.sql.tables import (
    live_sessions,
    offers,
    session_lots,
    session_moderators,
    utcnow,
)
from shop.catalogue import Offer, SessionStatus
from shop.errors import Conflict, NotFound


class SqlSessionStaff:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def attach_lot(self, actor_id: int | None, session_id: int, lot_id: int) -> None:
        """Put a lot on sale in a session (again, if it was detached); repeating is a no-op."""
        now = utcnow()
        async with self._engine.begin() as conn:
            found = (
                await conn.execute(
                    select(session_lots.c.detached_at).where(
                        session_lots.c.session_id == session_id, session_lots.c.lot_id == lot_id
                    )
                )
            ).one_or_none()
            if found is None:
                await conn.execute(
                    session_lots.insert().values(
                        session_id=session_id, lot_id=lot_id, attached_by=actor_id, attached_at=now
                    )
                )
            elif found.detached_at is not None:
                await conn.execute(
                    update(session_lots)
                    .where(session_lots.c.session_id == session_id, session_lots.c.lot_id == lot_id)
                    .values(detached_at=None, attached_by=actor_id, attached_at=now)
                )
            else:
                return
            await audit.record(
                conn, actor_id, "session.lot_attach", "session", session_id, {"lot_id": lot_id}
            )

    async def detach_lot(self, actor_id: int | None, session_id: int, lot_id: int) -> None:
        """No new offers on the lot in this session; offers already made stay as they are."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(session_lots)
                .where(
                    session_lots.c.session_id == session_id,
                    session_lots.c.lot_id == lot_id,
                    session_lots.c.detached_at.is_(None),
                )
                .values(detached_at=utcnow())
            )
            if result.rowcount == 0:
                raise NotFound(f"lot {lot_id} is not attached to session {session_id}")
            await audit.record(
                conn, actor_id, "session.lot_detach", "session", session_id, {"lot_id": lot_id}
            )

    async def assign_moderator(self, actor_id: int | None, session_id: int, user_id: int) -> None:
        async with self._engine.begin() as conn:
            found = (
                await conn.execute(
                    select(session_moderators.c.user_id).where(
                        session_moderators.c.session_id == session_id,
                        session_moderators.c.user_id == user_id,
                    )
                )
            ).one_or_none()
            if found is not None:
                return
            await conn.execute(
                session_moderators.insert().values(
                    session_id=session_id,
                    user_id=user_id,
                    assigned_by=actor_id,
                    assigned_at=utcnow(),
                )
            )
            await audit.record(
                conn,
                actor_id,
                "session.moderator_assign",
                "session",
                session_id,
                {"user_id": user_id},
            )

    async def unassign_moderator(self, actor_id: int | None, session_id: int, user_id: int) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                session_moderators.delete().where(
                    session_moderators.c.session_id == session_id,
                    session_moderators.c.user_id == user_id,
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"user {user_id} is not a moderator of session {session_id}")
            await audit.record(
                conn,
                actor_id,
                "session.moderator_remove",
                "session",
                session_id,
                {"user_id": user_id},
            )

    async def set_sale_paused(self, actor_id: int | None, session_id: int, paused: bool) -> None:
        """Pause or resume the sale of a live session; the session itself stays live."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(live_sessions)
                .where(
                    and_(
                        live_sessions.c.id == session_id,
                        live_sessions.c.status == SessionStatus.LIVE.value,
                    )
                )
                .values(sale_paused=paused)
            )
            if result.rowcount == 0:
                raise Conflict("only a live session's sale can be paused or resumed")
            action = "session.sale_pause" if paused else "session.sale_resume"
            await audit.record(conn, actor_id, action, "session", session_id)

    async def set_sale_after_end(self, actor_id: int | None, session_id: int, keep: bool) -> None:
        """Keep the sale open after the end (the replay sells while stock lasts), or not.

        Allowed before, during and after the live: closing it after the end closes the sale
        for good, keeping it open after the end reopens the replay's sale.
        """
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session_id)
                .values(sale_after_end=keep)
            )
            if result.rowcount == 0:
                raise NotFound(f"no live session {session_id}")
            action = "session.sale_after_end_open" if keep else "session.sale_after_end_close"
            await audit.record(conn, actor_id, action, "session", session_id)

    async def set_offer_price(
        self, actor_id: int | None, session_id: int, offer_id: int, price: int
    ) -> Offer:
        """A new price for an offer of a session that has not ended; orders placed from now
        on pay it (orders already placed keep theirs)."""
        async with self._engine.begin() as conn:
            status = (
                await conn.execute(
                    select(live_sessions.c.status).where(live_sessions.c.id == session_id)
                )
            ).scalar_one_or_none()
            if status is None:
                raise NotFound(f"no live session {session_id}")
            if status == SessionStatus.ENDED.value:
                raise Conflict("this live session has ended: its prices are final")
            old = (
                await conn.execute(
                    select(offers.c.price).where(
                        offers.c.id == offer_id, offers.c.session_id == session_id
                    )
                )
            ).scalar_one_or_none()
            if old is None:
                raise NotFound(f"offer {offer_id} is not part of session {session_id}")
            row = (
                await conn.execute(
                    update(offers)
                    .where(offers.c.id == offer_id)
                    .values(price=price)
                    .returning(offers)
                )
            ).one()
            await audit.record(
                conn, actor_id, "offer.price", "offer", offer_id, {"from": old, "to": price}
            )
        return rows.offer(row)

    async def set_banned_words(
        self, actor_id: int | None, session_id: int, words: Sequence[str]
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session_id)
                .values(banned_words=list(words))
            )
            await audit.record(
                conn,
                actor_id,
                "session.banned_words",
                "session",
                session_id,
                {"words": list(words)},
            )


async def attached_and_moderators(
    conn: AsyncConnection, ids: Sequence[int]
) -> tuple[dict[int, frozenset[int]], dict[int, frozenset[int]]]:
    """Per session: the lots attached (not detached) and the moderators assigned."""
    attached: dict[int, set[int]] = {}
    moderators: dict[int, set[int]] = {}
    if ids:
        for sid, lot_id in await conn.execute(
            select(session_lots.c.session_id, session_lots.c.lot_id).where(
                session_lots.c.session_id.in_(ids), session_lots.c.detached_at.is_(None)
            )
        ):
            attached.setdefault(sid, set()).add(lot_id)
        for sid, user_id in await conn.execute(
            select(session_moderators.c.session_id, session_moderators.c.user_id).where(
                session_moderators.c.session_id.in_(ids)
            )
        ):
            moderators.setdefault(sid, set()).add(user_id)
    return (
        {k: frozenset(v) for k, v in attached.items()},
        {k: frozenset(v) for k, v in moderators.items()},
    )
