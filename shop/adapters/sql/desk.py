"""SqlDesk: the order desk's items (shop/desk.py), audited, and buyers' earlier orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shop.adapters.sql import audit
from shop.adapters.sql.tables import desk_items, orders, utcnow
from shop.desk import DeskItem, DeskState, check_move
from shop.errors import Conflict, NotFound
from shop.live.records import Intent


def _item(row: Any) -> DeskItem:
    data = dict(row._mapping)
    data["state"] = DeskState(data["state"])
    return DeskItem(**data)


class SqlDesk:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure(self, session_id: int, intents: Sequence[Intent]) -> None:
        """Add the intents the desk does not hold yet (each once, whatever races)."""
        if not intents:
            return
        async with self._engine.connect() as conn:
            have = set(
                (
                    await conn.execute(
                        select(desk_items.c.intent_id).where(
                            desk_items.c.session_id == session_id,
                            desk_items.c.intent_id.in_([i.id for i in intents]),
                        )
                    )
                ).scalars()
            )
        now = utcnow()
        for intent in intents:
            if intent.id in have:
                continue
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(
                        desk_items.insert().values(
                            session_id=session_id,
                            intent_id=intent.id,
                            message_id=intent.message_id or "",
                            name=intent.name[:100],
                            text=intent.text[:500],
                            offer_id=intent.offer_id,
                            quantity=intent.quantity,
                            grams=intent.grams,
                            total=intent.total,
                            state=DeskState.NEW.value,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                continue  # another staff page or instance added it first

    async def items(self, session_id: int) -> list[DeskItem]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(desk_items)
                .where(desk_items.c.session_id == session_id)
                .order_by(desk_items.c.id)
            )
            return [_item(r) for r in result]

    async def get(self, session_id: int, intent_id: str) -> DeskItem:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(desk_items).where(
                        desk_items.c.session_id == session_id, desk_items.c.intent_id == intent_id
                    )
                )
            ).one_or_none()
        if row is None:
            raise NotFound("no such chat order on this session's desk")
        return _item(row)

    async def move(
        self,
        actor_id: int,
        item: DeskItem,
        target: DeskState,
        order_id: str | None = None,
    ) -> DeskItem:
        """Move an item, guarded on the state it was read in (a concurrent move loses)."""
        check_move(item, target, actor_id)
        claimed_by = actor_id if target in (DeskState.CLAIMED, DeskState.ORDERED) else None
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(desk_items)
                .where(
                    desk_items.c.id == item.id,
                    desk_items.c.state == item.state.value,
                    desk_items.c.claimed_by.is_(None)
                    if item.claimed_by is None
                    else desk_items.c.claimed_by == item.claimed_by,
                )
                .values(
                    state=target.value,
                    claimed_by=claimed_by,
                    order_id=order_id,
                    updated_at=utcnow(),
                )
            )
            if result.rowcount == 0:
                raise Conflict("this chat order changed meanwhile; reload the desk")
            detail: dict[str, Any] = {"intent_id": item.intent_id, "from": item.state.value}
            if order_id is not None:
                detail["order_id"] = order_id
            await audit.record(
                conn, actor_id, f"desk.{target.value}", "session", item.session_id, detail
            )
        return await self.get(item.session_id, item.intent_id)

    async def buyers_orders(
        self, session_id: int, names: Sequence[str], phones: Sequence[str]
    ) -> list[dict[str, Any]]:
        """This session's orders whose buyer has one of these names or phones."""
        clauses = []
        if names:
            # SQLite's lower() knows ASCII only: match the spellings people actually use.
            variants = {v for n in names for v in (n, n.lower(), n.title(), n.upper())}
            clauses.append(orders.c.buyer_name.in_(sorted(variants)))
        if phones:
            clauses.append(orders.c.buyer_phone.in_(list(phones)))
        if not clauses:
            return []
        query = (
            select(
                orders.c.id,
                orders.c.code,
                orders.c.buyer_name,
                orders.c.buyer_phone,
                orders.c.offer_id,
                orders.c.quantity,
                orders.c.status,
                orders.c.created_at,
            )
            .where(orders.c.session_id == session_id, or_(*clauses))
            .order_by(orders.c.created_at)
            .limit(500)
        )
        async with self._engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
