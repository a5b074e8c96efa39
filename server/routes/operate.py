"""The order desk: chat orders kept server-side, worked by the session's staff together.

Items come from the hub's intent queue (the comment-to-order parser's drafts) and are
copied into SQL the first time a desk is read or acted on. Every move is published to the
session's staff sockets as `{"type": "desk", "item": {...}}` so all staff pages agree.
"Place order for this buyer" places a COD order with an Idempotency-Key derived from the
chat order, so a double click or two staff members at once still make one order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.orders import BuyerIn
from server.schemas.types import STRICT, Id, PathId
from server.services import Services
from shop.accounts import User, require_session_moderation
from shop.adapters.sql.audit import record
from shop.adapters.sql.desk import SqlDesk
from shop.address import normalize_address
from shop.desk import DeskItem, DeskState, check_move
from shop.live.hub import Audience
from shop.orders import Buyer, PlaceOrder
from shop.phone import find_phones, normalize_phone

router = APIRouter(prefix="/api/sessions", tags=["order desk"])
INTENTS_READ = 1000


class DeskOrder(BaseModel):
    model_config = STRICT
    buyer: BuyerIn
    offer_id: Id | None = None  # default: the chat order's
    quantity: int | None = Field(default=None, ge=1, le=1000, strict=True)


def _desk(services: Services) -> SqlDesk:
    return SqlDesk(services.engine)


async def _checked(services: Services, user: User, sid: int) -> None:
    require_session_moderation(user, await services.catalogue.get_session(sid))


async def _sync(services: Services, sid: int) -> None:
    intents = await services.live.hub.recent_intents(sid, INTENTS_READ)
    await _desk(services).ensure(sid, intents)


def item_view(item: DeskItem, matches: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "intent_id": item.intent_id,
        "message_id": item.message_id,
        "name": item.name,
        "text": item.text,
        "offer_id": item.offer_id,
        "quantity": item.quantity,
        "grams": item.grams,
        "total": item.total,
        "state": item.state.value,
        "claimed_by": item.claimed_by,
        "order_id": item.order_id,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "matches": matches or [],
    }


async def _with_matches(services: Services, items: list[DeskItem]) -> list[dict[str, Any]]:
    """Each item with the orders its buyer already placed in the session (by name or phone)."""
    if not items:
        return []
    phones_of = {i.intent_id: [p for _, _, p in find_phones(i.text)] for i in items}
    found = await _desk(services).buyers_orders(
        items[0].session_id,
        sorted({i.name for i in items}),
        sorted({p for ps in phones_of.values() for p in ps}),
    )
    out = []
    for item in items:
        mine = [
            {k: o[k] for k in ("id", "code", "offer_id", "quantity", "status", "created_at")}
            for o in found
            if o["buyer_name"].casefold() == item.name.casefold()
            or o["buyer_phone"] in phones_of[item.intent_id]
        ]
        out.append(item_view(item, [m for m in mine if m["id"] != item.order_id]))
    return out


async def _publish(services: Services, item: DeskItem) -> dict[str, Any]:
    view = (await _with_matches(services, [item]))[0]
    payload = json.loads(json.dumps(view, default=str))
    await services.live.service.publish(
        item.session_id, {"type": "desk", "item": payload}, Audience.STAFF
    )
    return view


@router.get("/{sid}/desk")
async def read_desk(sid: PathId, user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """The session's chat orders with their state and the buyer's earlier orders."""
    await _checked(services, user, sid)
    await _sync(services, sid)
    return await _with_matches(services, await _desk(services).items(sid))


async def _move(
    services: Services, user: User, sid: int, intent_id: str, target: DeskState
) -> dict[str, Any]:
    await _checked(services, user, sid)
    await _sync(services, sid)
    desk = _desk(services)
    item = await desk.move(user.id, await desk.get(sid, intent_id[:64]), target)
    return await _publish(services, item)


@router.post("/{sid}/desk/{intent_id}/claim")
async def claim(sid: PathId, intent_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    return await _move(services, user, sid, intent_id, DeskState.CLAIMED)


@router.post("/{sid}/desk/{intent_id}/release")
async def release(sid: PathId, intent_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    return await _move(services, user, sid, intent_id, DeskState.NEW)


@router.post("/{sid}/desk/{intent_id}/dismiss")
async def dismiss(sid: PathId, intent_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    return await _move(services, user, sid, intent_id, DeskState.DISMISSED)


@router.post("/{sid}/desk/{intent_id}/order", status_code=201)
async def order_for_buyer(
    sid: PathId, intent_id: str, body: DeskOrder, user: CurrentUser, services: ServicesDep
) -> Any:
    """Place a COD order for the chat's buyer (after a phone call), audited with its author."""
    await _checked(services, user, sid)
    await _sync(services, sid)
    desk = _desk(services)
    item = await desk.get(sid, intent_id[:64])
    # Refuse before placing anything: someone else's claim, or already ordered.
    check_move(item, DeskState.ORDERED, user.id)
    phone = normalize_phone(body.buyer.phone)
    address = normalize_address(
        body.buyer.address.province, body.buyer.address.ward, body.buyer.address.street
    )
    offer_id = body.offer_id or item.offer_id
    quantity = body.quantity or item.quantity
    canonical = json.dumps(
        {"offer_id": offer_id, "quantity": quantity, "buyer": body.buyer.model_dump()},
        sort_keys=True,
        ensure_ascii=False,
    )
    placed = await services.orders.place(
        PlaceOrder(
            session_id=sid,
            offer_id=offer_id,
            quantity=quantity,
            buyer=Buyer(name=body.buyer.name, phone=phone, address=address),
            payment_method="cod",
            idempotency_key=f"desk-{item.id}",  # one order per chat order, whoever clicks
            request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        )
    )
    async with services.engine.begin() as conn:
        await record(
            conn,
            user.id,
            "desk.place_order",
            "order",
            placed.order.id,
            {"session_id": sid, "intent_id": item.intent_id, "chat_name": item.name},
        )
    item = await desk.move(user.id, item, DeskState.ORDERED, order_id=placed.order.id)
    view = await _publish(services, item)
    return {**view, "order": {"id": placed.order.id, "token": placed.token}}
