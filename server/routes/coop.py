"""Staff read views for the dashboards: a cooperative's orders and sessions, a session's orders.

Same access rules as the CSV export (coop users see their own cooperative; admins all) and
as order confirmation (a host sees their own session's orders; moderators and admins all).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.routes.orders import address_view
from server.routes.sessions import session_view
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, require_cooperative, require_role, require_session_moderation
from shop.order_reports import OrderReports, StaffOrder
from shop.orders import Order
from shop.refusals import Risk, risk_key, risk_of
from shop.text import fold

router = APIRouter(prefix="/api", tags=["dashboards"])


def _reports(services: Services) -> OrderReports:
    """The reporting queries (the OrderStore port has only the order path's)."""
    assert services.order_reports is not None
    return services.order_reports


def staff_order_view(row: StaffOrder, risk: Risk | None = None) -> dict[str, Any]:
    """One order as staff need it to confirm, pack and deliver (full phone number), with
    the buyer phone's earlier orders and refusals (`risk`)."""
    order = row.order
    return {
        "risk": (risk or Risk(0, 0)).view(),
        "id": order.id,
        "code": order.code,
        "created_at": order.created_at,
        "session_id": order.session_id,
        "session_title": row.session_title,
        "offer_id": order.offer_id,
        "offer_code": row.offer_code,
        "lot_id": order.lot_id,
        "product": row.product,
        "quantity": order.quantity,
        "grams": order.grams,
        "total": order.total,
        "currency": order.currency,
        "status": order.status.value,
        "payment_method": order.payment_method,
        "hold_expires_at": order.hold_expires_at,
        "buyer": {
            "name": order.buyer_name,
            "phone": order.buyer_phone,
            "address": address_view(order),
        },
    }


async def with_risk(
    services: Services, rows: list[StaffOrder], sort: str = "created"
) -> list[dict[str, Any]]:
    """Staff views with each order's refusal risk; `sort=risk`: refusers first, so the
    confirm call list reaches them before anything ships."""
    assert services.buyer_history is not None
    history = await services.buyer_history.history(row.order.buyer_phone for row in rows)
    risks = [risk_of(row.order, history.get(row.order.buyer_phone, [])) for row in rows]
    pairs = list(zip(rows, risks, strict=True))
    if sort == "risk":
        pairs.sort(key=lambda p: risk_key(p[1]))  # stable: same risk keeps its order
    return [staff_order_view(row, risk) for row, risk in pairs]


SortBy = Annotated[Literal["created", "risk"], Query()]


@router.get("/cooperatives/{cid}/orders")
async def cooperative_orders(
    cid: PathId,
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: SortBy = "created",
) -> list[dict[str, Any]]:
    """The cooperative's orders, oldest first (the JSON twin of orders.csv).

    `q` finds orders by code, phone (any part of it) or buyer name (accents ignored);
    `sort=risk` puts phones with refused deliveries first.
    """
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    await services.catalogue.get_cooperative(cid)
    rows = await _reports(services).cooperative_orders(cid)
    if q and q.strip():
        rows = [row for row in rows if order_matches(row.order, q)]
    return await with_risk(services, rows, sort)


def order_matches(order: Order, query: str) -> bool:
    """Whether a staff search (code, phone digits or a name) finds this order."""
    compact = "".join(query.split()).replace("-", "")
    if compact.upper() == order.code:
        return True
    digits = "".join(c for c in compact if c.isdigit())
    if digits and digits == compact.lstrip("+") and len(digits) >= 3:
        national = "0" + digits[2:] if digits.startswith("84") else digits
        return national in order.buyer_phone or digits in order.buyer_phone
    return fold(query).strip() in fold(order.buyer_name)


@router.get("/cooperatives/{cid}/sessions")
async def cooperative_sessions(
    cid: PathId, user: CurrentUser, services: ServicesDep
) -> list[dict[str, Any]]:
    """Sessions that sell at least one of the cooperative's lots, with their figures."""
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    await services.catalogue.get_cooperative(cid)
    own_lots = {lot.id for lot in await services.catalogue.list_lots(cid)}
    out = []
    for session in await services.catalogue.list_sessions():
        if own_lots & {o.lot_id for o in session.offers}:
            out.append((await session_view(services, session)).model_dump(mode="json"))
    return out


@router.get("/sessions/{sid}/orders")
async def session_orders(
    sid: PathId,
    user: CurrentUser,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    sort: SortBy = "created",
) -> list[dict[str, Any]]:
    """The newest orders of one session, newest first (`sort=risk`: refusers first)."""
    session = await services.catalogue.get_session(sid)
    require_session_moderation(user, session)
    return await with_risk(services, await _reports(services).session_orders(sid, limit), sort)
