"""Placing orders (public), reading them (buyer), confirming and cancelling them (staff)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.orders import OrderCreate, OrderCreated, OrderPublic, SessionStatsPublic
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, User, require_cooperative, require_role
from shop.address import normalize_address
from shop.errors import Forbidden, InvalidInput
from shop.order_reports import OrderReports
from shop.order_status import OrderStatus
from shop.orders import Buyer, Order, PaymentMethod, PlaceOrder
from shop.phone import mask_phone, normalize_phone
from shop.refusals import check_cash_on_delivery

router = APIRouter(prefix="/api", tags=["orders"])
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def order_view(order: Order, services: Services, token: str | None = None) -> dict[str, Any]:
    """The buyer's view of an order: their own details, and how to pay."""
    return {
        "id": order.id,
        "code": order.code,
        "session_id": order.session_id,
        "offer_id": order.offer_id,
        "lot_id": order.lot_id,
        "status": order.status.value,
        "quantity": order.quantity,
        "grams": order.grams,
        "unit_price": order.unit_price,
        "total": order.total,
        "currency": order.currency,
        "hold_expires_at": order.hold_expires_at,
        "created_at": order.created_at,
        "buyer": {
            "name": order.buyer_name,
            "phone": mask_phone(order.buyer_phone),
            "address": {
                "province": order.province_name,
                "ward": order.ward_name,
                "street": order.street,
            },
        },
        "payment": payment_view(order, services, token),
    }


def payment_view(
    order: Order, services: Services | None = None, token: str | None = None
) -> dict[str, Any]:
    """How to pay, from the order's payment provider (shop/payments).

    A bank transfer still to be paid carries `qr_url`, the VietQR image
    (server/routes/payments.py), when the buyer's token is known.
    """
    if services is None or services.payments is None:
        reference = "FL" + order.id.replace("-", "")[:10].upper()
        return {"method": order.payment_method, "amount": order.total, "reference": reference}
    view = services.payments.view(order, token)
    if view.get("vietqr") and token and order.status is OrderStatus.PENDING_PAYMENT:
        view["qr_url"] = f"/api/orders/{order.id}/vietqr.png?token={token}"
    return view


@router.post(
    "/sessions/{sid}/orders",
    status_code=201,
    response_model=OrderCreated,
    responses={200: {"model": OrderCreated, "description": "a replay of the same request"}},
)
async def place_order(
    sid: PathId,
    body: OrderCreate,
    request: Request,
    idempotency_key: Annotated[
        str, Header(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")
    ],
) -> Any:
    # The hottest route: no dependency to solve (FastAPI's solver costs more per request
    # than what it would fetch) and a response built without a second pydantic pass.
    services: Services = request.app.state.services
    if services.abuse is not None:
        await services.abuse.check_ip(services.abuse.limits.orders_ip, request)
    try:
        phone = normalize_phone(body.buyer.phone)
    except InvalidInput as exc:
        exc.details.setdefault("field", "buyer.phone")
        raise
    threshold = services.settings.prepay_after_refusals
    if threshold and body.payment_method == PaymentMethod.COD and services.buyer_history:
        # Only when the operator asked for it: one indexed count on the hot path.
        check_cash_on_delivery(await services.buyer_history.returned_count(phone), threshold)
    address = normalize_address(
        body.buyer.address.province, body.buyer.address.ward, body.buyer.address.street
    )
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    cmd = PlaceOrder(
        session_id=sid,
        offer_id=body.offer_id,
        quantity=body.quantity,
        buyer=Buyer(name=body.buyer.name, phone=phone, address=address),
        payment_method=body.payment_method,
        idempotency_key=idempotency_key,
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )
    with services.metrics.order_latency.time():
        placed = await services.orders.place(cmd)
    services.metrics.orders.labels("created" if placed.created else "replayed").inc()
    payload = {**order_view(placed.order, services, placed.token), "token": placed.token}
    return JSONResponse(jsonable(payload), status_code=201 if placed.created else 200)


def jsonable(value: Any) -> Any:
    """Datetimes as pydantic writes them (ISO 8601, `Z` for UTC); the rest is JSON already."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@router.get("/orders/{order_id}", response_model=OrderPublic)
async def get_order(
    order_id: str, services: ServicesDep, token: Annotated[str, Query(min_length=8, max_length=128)]
) -> Any:
    return order_view(await services.orders.get_for_buyer(order_id[:64], token), services, token)


def reports(services: Services) -> OrderReports:
    assert services.order_reports is not None
    return services.order_reports


async def staff_order(services: Services, user: User, order_id: str) -> Order:
    order = await services.orders.get(order_id[:64])
    if user.is_admin or user.role is Role.MODERATOR:
        return order
    if user.role is Role.HOST:
        session = await services.catalogue.get_session(order.session_id)
        if session.host_id == user.id:
            return order
        raise Forbidden("this order belongs to another host's session")
    lot = await services.catalogue.get_lot(order.lot_id)
    require_cooperative(user, lot.cooperative_id)
    return order


@router.post("/orders/{order_id}/confirm", response_model=OrderPublic)
async def confirm_order(order_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    order = await staff_order(services, user, order_id)
    return order_view(await services.orders.confirm(order.id, user.id), services)


@router.post("/orders/{order_id}/cancel", response_model=OrderPublic)
async def cancel_order(order_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    order = await staff_order(services, user, order_id)
    return order_view(await services.orders.cancel(order.id, user.id), services)


@router.get("/sessions/{sid}/stats", response_model=SessionStatsPublic)
async def session_stats(sid: PathId, services: ServicesDep) -> Any:
    session = await services.catalogue.get_session(sid)
    lot_ids = sorted({o.lot_id for o in session.offers})
    figures = await services.catalogue.lot_figures(lot_ids)
    stats = await reports(services).session_stats(sid, figures)
    return SessionStatsPublic(
        sold_grams=stats.sold_grams,
        held_grams=stats.held_grams,
        available_grams=stats.available_grams,
        orders_count=stats.orders_count,
        cancelled_count=stats.cancelled_count,
        revenue=stats.revenue,
        lots=[
            {
                "id": f.lot_id,
                "cooperative_id": f.cooperative_id,
                "product": f.product,
                "stock_grams": f.stock_grams,
                "sold_grams": f.sold_grams,
                "held_grams": f.held_grams,
                "available_grams": f.available_grams,
            }
            for f in stats.lots
        ],
        cooperatives=stats.cooperatives,
    )


CSV_COLUMNS = [
    "order_id",
    "created_at",
    "session",
    "offer_code",
    "product",
    "quantity",
    "grams",
    "total_vnd",
    "status",
    "payment_method",
    "buyer_name",
    "buyer_phone",
    "province",
    "ward",
    "street",
]


@router.get("/cooperatives/{cid}/orders.csv")
async def cooperative_orders_csv(cid: PathId, user: CurrentUser, services: ServicesDep) -> Response:
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    await services.catalogue.get_cooperative(cid)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in await reports(services).cooperative_orders(cid):
        order = row.order
        writer.writerow(
            [
                order.id,
                order.created_at.astimezone(VN).strftime("%Y-%m-%d %H:%M:%S"),
                row.session_title,
                row.offer_code,
                row.product,
                order.quantity,
                order.grams,
                order.total,
                order.status.value,
                order.payment_method,
                _csv_safe(order.buyer_name),
                order.buyer_phone,
                order.province_name,
                _csv_safe(order.ward_name),
                _csv_safe(order.street),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orders-coop-{cid}.csv"'},
    )


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas typed by buyers (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
