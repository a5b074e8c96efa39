"""SqlCatalogue: cooperatives, lots, live sessions and offers in SQL."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit, rows
from shop.adapters.sql.session_staff import attached_and_moderators
from shop.adapters.sql.tables import (
    cooperatives,
    live_sessions,
    lots,
    offers,
    orders,
    utcnow,
)
from shop.catalogue import (
    SESSION_TRANSITIONS,
    Cooperative,
    LiveSession,
    Lot,
    LotFigures,
    Offer,
    SessionStatus,
    default_offer_code,
)
from shop.errors import Conflict, InvalidTransition, LotNotAttached, NotFound
from shop.order_status import HELD_STATUSES


@dataclass(frozen=True, slots=True)
class NewLot:
    cooperative_id: int
    product: str
    stock_grams: int
    grade: str | None = None
    origin: str | None = None
    harvest_date: date | None = None
    vietgap: bool = False
    perishable: bool = True


@dataclass(frozen=True, slots=True)
class NewOffer:
    lot_id: int
    title: str
    pack_grams: int
    price: int
    currency: str = "VND"
    max_per_order: int = 20
    code: str | None = None


class SqlCatalogue:
    """Reads and writes the catalogue; every staff change is audited in the same transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # -- cooperatives ---------------------------------------------------------------
    async def create_cooperative(self, actor_id: int | None, **values: Any) -> Cooperative:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                cooperatives.insert().values(**values, created_at=utcnow()).returning(cooperatives)
            )
            coop = rows.cooperative(result.one())
            await audit.record(conn, actor_id, "cooperative.create", "cooperative", coop.id)
        return coop

    async def update_cooperative(
        self, actor_id: int | None, cooperative_id: int, values: dict[str, Any]
    ) -> Cooperative:
        if values:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    update(cooperatives).where(cooperatives.c.id == cooperative_id).values(**values)
                )
                if result.rowcount == 0:
                    raise NotFound(f"no cooperative {cooperative_id}")
                await audit.record(
                    conn,
                    actor_id,
                    "cooperative.update",
                    "cooperative",
                    cooperative_id,
                    {"fields": sorted(values)},
                )
        return await self.get_cooperative(cooperative_id)

    async def get_cooperative(self, cooperative_id: int) -> Cooperative:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(cooperatives).where(cooperatives.c.id == cooperative_id))
            ).one_or_none()
        if row is None:
            raise NotFound(f"no cooperative {cooperative_id}")
        return rows.cooperative(row)

    async def find_cooperative_by_name(self, name: str) -> Cooperative | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(cooperatives).where(cooperatives.c.name == name).limit(1))
            ).one_or_none()
        return None if row is None else rows.cooperative(row)

    async def list_cooperatives(self) -> list[Cooperative]:
        async with self._engine.connect() as conn:
            result = await conn.execute(select(cooperatives).order_by(cooperatives.c.id))
            return [rows.cooperative(r) for r in result]

    # -- lots -----------------------------------------------------------------------
    async def create_lot(self, actor_id: int | None, new: NewLot) -> Lot:
        await self.get_cooperative(new.cooperative_id)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                lots.insert()
                .values(
                    cooperative_id=new.cooperative_id,
                    product=new.product,
                    grade=new.grade,
                    origin=new.origin,
                    harvest_date=new.harvest_date,
                    vietgap=new.vietgap,
                    perishable=new.perishable,
                    stock_grams=new.stock_grams,
                    sold_grams=0,
                    created_at=utcnow(),
                )
                .returning(lots)
            )
            lot = rows.lot(result.one())
            await audit.record(
                conn, actor_id, "lot.create", "lot", lot.id, {"stock_grams": lot.stock_grams}
            )
        return lot

    async def restock_lot(self, actor_id: int | None, lot_id: int, grams: int, reason: str) -> Lot:
        """Staff put goods back on sale by hand (written-off goods that are fine after all,
        a late harvest): the lot's stock grows by `grams`, audited with the reason."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(lots)
                    .where(lots.c.id == lot_id)
                    .values(stock_grams=lots.c.stock_grams + grams)
                    .returning(lots)
                )
            ).one_or_none()
            if row is None:
                raise NotFound(f"no lot {lot_id}")
            lot = rows.lot(row)
            detail = {"grams": grams, "reason": reason, "stock_grams": lot.stock_grams}
            await audit.record(conn, actor_id, "lot.restock", "lot", lot_id, detail)
        return lot

    async def get_lot(self, lot_id: int) -> Lot:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(lots).where(lots.c.id == lot_id))).one_or_none()
        if row is None:
            raise NotFound(f"no lot {lot_id}")
        return rows.lot(row)

    async def list_lots(self, cooperative_id: int | None = None) -> list[Lot]:
        query = select(lots).order_by(lots.c.id)
        if cooperative_id is not None:
            query = query.where(lots.c.cooperative_id == cooperative_id)
        async with self._engine.connect() as conn:
            return [rows.lot(r) for r in await conn.execute(query)]

    async def lot_figures(
        self, lot_ids: Sequence[int], now: datetime | None = None
    ) -> list[LotFigures]:
        """Public numbers per lot from SQL: sold from the lot row, held from unexpired holds."""
        if not lot_ids:
            return []
        now = now or utcnow()
        held = (
            select(orders.c.lot_id, func.coalesce(func.sum(orders.c.grams), 0).label("held"))
            .where(
                orders.c.lot_id.in_(lot_ids),
                orders.c.status.in_(HELD_STATUSES),
                # A hold with no expiry (a card payment in flight) counts until settled.
                (orders.c.hold_expires_at.is_(None)) | (orders.c.hold_expires_at > now),
            )
            .group_by(orders.c.lot_id)
            .subquery()
        )
        query = (
            select(
                lots.c.id,
                lots.c.cooperative_id,
                lots.c.product,
                lots.c.stock_grams,
                lots.c.sold_grams,
                func.coalesce(held.c.held, 0),
            )
            .select_from(lots.outerjoin(held, held.c.lot_id == lots.c.id))
            .where(lots.c.id.in_(lot_ids))
            .order_by(lots.c.id)
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [
                LotFigures(
                    lot_id=r[0],
                    cooperative_id=r[1],
                    product=r[2],
                    stock_grams=int(r[3]),
                    sold_grams=int(r[4]),
                    held_grams=int(r[5]),
                )
                for r in result
            ]

    # -- sessions -------------------------------------------------------------------
    async def create_session(
        self,
        actor_id: int | None,
        *,
        title: str,
        host_id: int | None,
        scheduled_at: datetime | None = None,
        max_grams_per_buyer: int | None = None,
    ) -> LiveSession:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                live_sessions.insert()
                .values(
                    title=title,
                    host_id=host_id,
                    status=SessionStatus.SCHEDULED.value,
                    stream_key=secrets.token_urlsafe(24),
                    scheduled_at=scheduled_at,
                    max_grams_per_buyer=max_grams_per_buyer,
                    created_at=utcnow(),
                )
                .returning(live_sessions)
            )
            session = rows.live_session(result.one())
            await audit.record(conn, actor_id, "session.create", "session", session.id)
        return session

    async def get_session(self, session_id: int) -> LiveSession:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(live_sessions).where(live_sessions.c.id == session_id))
            ).one_or_none()
            if row is None:
                raise NotFound(f"no live session {session_id}")
            offer_rows = await conn.execute(
                select(offers).where(offers.c.session_id == session_id).order_by(offers.c.id)
            )
            found = tuple(rows.offer(o) for o in offer_rows)
            attached, moderators = await attached_and_moderators(conn, [session_id])
            return rows.live_session(
                row,
                found,
                attached.get(session_id, frozenset()),
                moderators.get(session_id, frozenset()),
            )

    async def list_sessions(self, status: SessionStatus | None = None) -> list[LiveSession]:
        query = select(live_sessions).order_by(live_sessions.c.id.desc())
        if status is not None:
            query = query.where(live_sessions.c.status == status.value)
        async with self._engine.connect() as conn:
            session_rows = (await conn.execute(query)).all()
            ids = [r.id for r in session_rows]
            by_session: dict[int, list[Offer]] = {i: [] for i in ids}
            if ids:
                for o in await conn.execute(
                    select(offers).where(offers.c.session_id.in_(ids)).order_by(offers.c.id)
                ):
                    by_session[o.session_id].append(rows.offer(o))
            attached, moderators = await attached_and_moderators(conn, ids)
        empty: frozenset[int] = frozenset()
        return [
            rows.live_session(
                r, tuple(by_session[r.id]), attached.get(r.id, empty), moderators.get(r.id, empty)
            )
            for r in session_rows
        ]

    async def session_id_for_stream_key(self, stream_key: str) -> int | None:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(
                    select(live_sessions.c.id).where(live_sessions.c.stream_key == stream_key)
                )
            ).scalar_one_or_none()

    async def set_session_status(
        self, actor_id: int | None, session_id: int, target: SessionStatus
    ) -> LiveSession:
        """Start or end a session; repeating the same action is a no-op, not an error."""
        allowed = SESSION_TRANSITIONS[target]
        now = utcnow()
        values: dict[str, Any] = {"status": target.value}
        if target is SessionStatus.LIVE:
            values["started_at"] = func.coalesce(live_sessions.c.started_at, now)
        else:
            values["ended_at"] = func.coalesce(live_sessions.c.ended_at, now)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(live_sessions)
                .where(
                    and_(
                        live_sessions.c.id == session_id,
                        live_sessions.c.status.in_([s.value for s in allowed]),
                    )
                )
                .values(**values)
            )
            if result.rowcount == 0:
                # Read on this same connection: SQLite runs on a single pooled one.
                status = (
                    await conn.execute(
                        select(live_sessions.c.status).where(live_sessions.c.id == session_id)
                    )
                ).scalar_one_or_none()
                if status is None:
                    raise NotFound(f"no live session {session_id}")
                raise InvalidTransition(f"a session that is {status} cannot become {target.value}")
            await audit.record(conn, actor_id, f"session.{target.value}", "session", session_id)
        return await self.get_session(session_id)

    async def pin_offer(
        self, actor_id: int | None, session_id: int, offer_id: int | None
    ) -> LiveSession:
        session = await self.get_session(session_id)
        if session.status is SessionStatus.ENDED:  # a pin after the end is no moment
            raise Conflict("this live session has ended")
        if offer_id is not None and offer_id not in {o.id for o in session.offers}:
            raise NotFound(f"offer {offer_id} is not part of session {session_id}")
        async with self._engine.begin() as conn:
            await conn.execute(
                update(live_sessions)
                .where(live_sessions.c.id == session_id)
                .values(pinned_offer_id=offer_id)
            )
            await audit.record(
                conn, actor_id, "session.pin", "session", session_id, {"offer_id": offer_id}
            )
        return await self.get_session(session_id)

    # -- offers ---------------------------------------------------------------------
    async def create_offer(self, actor_id: int | None, session_id: int, new: NewOffer) -> Offer:
        session = await self.get_session(session_id)
        if session.status is SessionStatus.ENDED:
            raise Conflict("this live session has ended")
        lot = await self.get_lot(new.lot_id)
        if lot.id not in session.attached_lot_ids:
            raise LotNotAttached(
                f"lot {lot.id} is not attached to this session: its cooperative attaches it first"
            )
        code = new.code or default_offer_code(lot.product, new.pack_grams, session.offers)
        async with self._engine.begin() as conn:
            try:
                result = await conn.execute(
                    offers.insert()
                    .values(
                        session_id=session_id,
                        lot_id=new.lot_id,
                        code=code,
                        title=new.title,
                        pack_grams=new.pack_grams,
                        price=new.price,
                        currency=new.currency,
                        max_per_order=new.max_per_order,
                        active=True,
                        created_at=utcnow(),
                    )
                    .returning(offers)
                )
            except IntegrityError as exc:
                raise Conflict(f"offer code {code!r} is already used in this session") from exc
            offer = rows.offer(result.one())
            await audit.record(conn, actor_id, "offer.create", "offer", offer.id)
        return offer

    async def get_offer(self, offer_id: int) -> Offer:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(offers).where(offers.c.id == offer_id))).one_or_none()
        if row is None:
            raise NotFound(f"no offer {offer_id}")
        return rows.offer(row)
