"""Placing orders (public), reading them (buyer), confirming and cancelling them (staff)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter, ValidationError

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.device import new_device, read_device
from server.packing_csv import packing_csv
from server.schemas.orders import OrderCreate, OrderCreated, OrderPublic
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import (
    Role,
    User,
    require_cooperative,
    require_role,
    require_session_moderation,
)
from shop.address import Match, normalize_address
from shop.errors import InvalidInput, NotFound
from shop.order_code import is_code
from shop.order_reports import OrderReports
from shop.order_status import OrderStatus
from shop.orders import Buyer, Order, PaymentMethod, PlaceOrder
from shop.phone import mask_phone, normalize_phone
from shop.ratelimit import Limit, Rate
from shop.refusals import check_cash_on_delivery

router = APIRouter(prefix="/api", tags=["orders"])
# Placing alone, included ahead of every other router (server/app.py): FastAPI tries routes
# one by one at ~15 us each, and this path sat behind about 30 of them.
place_router = APIRouter(prefix="/api", tags=["orders"])
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
            "address": address_view(order),
        },
        "payment": payment_view(order, services, token),
    }


def address_view(order: Order) -> dict[str, Any]:
    """The delivery address: resolved names and codes, how they were found, what was typed.

    `typed` is null when the buyer's text was the official names. Orders from before
    migration 0007 have no recorded match: a ward code then means the name was exact.
    """
    match = order.address_match or (Match.EXACT if order.ward_code else Match.UNRECOGNISED)
    return {
        "province": order.province_name,
        "ward": order.ward_name,
        "street": order.street,
        "province_code": int(order.province_code) if order.province_code else None,
        "ward_code": int(order.ward_code) if order.ward_code else None,
        "match": match,
        "typed": order.address_typed or None,
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


# The path id and the key are read by hand (`_param`): FastAPI's per-request parameter
# solver costs more than the placing logic it guards. Same pydantic rules, same answers
# (a bad id is a 404, a bad key a 422 naming header.idempotency-key), same document; only
# a request whose body is bad as well now hears about its body alone (FastAPI checks the
# declared body before the endpoint runs).
_SID = TypeAdapter(Annotated[int, Field(ge=1, le=2**31 - 1)])
_KEY = TypeAdapter(Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")])
_PARAMETERS = [
    {"name": "sid", "in": "path", "required": True,
     "schema": {**_SID.json_schema(), "title": "Sid"}},
    {"name": "idempotency-key", "in": "header", "required": True,
     "schema": {**_KEY.json_schema(), "title": "Idempotency-Key"}},
]  # fmt: skip


def _param(adapter: TypeAdapter[Any], value: str | None, loc: tuple[str, str]) -> Any:
    if value is None:
        missing = {"type": "missing", "loc": loc, "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": (*loc, *e["loc"])} for e in exc.errors()]
        ) from None


@place_router.post(
    "/sessions/{sid}/orders",
    status_code=201,
    response_model=OrderCreated,
    responses={200: {"model": OrderCreated, "description": "a replay of the same request"}},
    openapi_extra={"parameters": _PARAMETERS},
)
async def place_order(body: OrderCreate, request: Request) -> Any:
    sid = _param(_SID, request.path_params.get("sid"), ("path", "sid"))
    idempotency_key = _param(
        _KEY, request.headers.get("idempotency-key"), ("header", "idempotency-key")
    )
    return await place(request, body, sid, idempotency_key)


async def place(request: Request, body: OrderCreate, sid: int, idempotency_key: str) -> Response:
    """Place a valid order: the route's work, shared with the placing lane (server/placing_lane.py).

    The hottest path: no dependency to solve (FastAPI's solver costs more per request than
    what it would fetch) and a response built without a second pydantic pass.
    """
    services: Services = request.app.state.services
    abuse = services.abuse
    if abuse is not None:
        await abuse.check_ip(abuse.limits.orders_ip, request)
    client = abuse.client_ip(request) if abuse is not None else ""
    secure = (services.settings.public_url or "").startswith("https:")
    # The hold budget counts per device only for a cookie we signed; one is handed out.
    device = read_device(request, services.tokens)
    try:
        phone = normalize_phone(body.buyer.phone)
    except InvalidInput as exc:
        exc.details.setdefault("field", "buyer.phone")
        raise
    threshold = services.settings.prepay_after_refusals
    if threshold and body.payment_method == PaymentMethod.COD and services.buyer_history:
        # Only when the operator asked for it: one indexed count on the hot path.
        check_cash_on_delivery(await services.buyer_history.returned_count(phone), threshold)
    typed_address = body.buyer.address
    address = normalize_address(
        typed_address.province, typed_address.ward, typed_address.street, typed_address.typed
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
        client_ip=client,
        device=device,
    )
    with services.metrics.order_latency.time():
        placed = await services.orders.place(cmd)
    services.metrics.orders.labels("created" if placed.created else "replayed").inc()
    payload = {**order_view(placed.order, services, placed.token), "token": placed.token}
    response = _Json(payload, status_code=201 if placed.created else 200)
    if not device:
        response.headers.append("set-cookie", new_device(services.tokens, secure=secure)[1])
    return response


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class _Json(JSONResponse):
    """JSONResponse with datetimes written as `jsonable` writes them, by the encoder's
    `default` hook: no second walk over the whole payload on the hottest route."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content,
            ensure_ascii=False,
            allow_nan=False,
            indent=None,
            separators=(",", ":"),
            default=_datetime,
        ).encode("utf-8")


def jsonable(value: Any) -> Any:
    """Datetimes as pydantic writes them (ISO 8601, `Z` for UTC); the rest is JSON already."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


# A buyer looks an order up once or twice; guessing codes for a known phone is stopped.
LOOKUP_IP = Limit("order-lookup-ip", Rate(burst=10, per_second=1 / 30))


@router.get("/orders/lookup", response_model=OrderCreated)
async def lookup_order(
    request: Request,
    services: ServicesDep,
    code: Annotated[str, Query(min_length=4, max_length=20)],
    phone: Annotated[str, Query(min_length=9, max_length=20)],
) -> Any:
    """The order with its token when both the code and the buyer's phone match, else 404.

    The same 404 for a wrong code and a wrong phone, so a phone cannot be tested against
    codes (or the other way round) by the answer.
    """
    if services.abuse is not None:
        await services.abuse.check_ip(LOOKUP_IP, request)
    missing = NotFound("no order with this code and phone number")
    wanted = "".join(code.split()).replace("-", "").upper()
    try:
        normalised = normalize_phone(phone)
    except InvalidInput:
        raise missing from None
    if not is_code(wanted):
        raise missing
    order = await reports(services).order_by_code(wanted)
    if order is None or not hmac.compare_digest(order.buyer_phone, normalised):
        raise missing
    token = services.orders.token_for(order.id)
    return JSONResponse(jsonable({**order_view(order, services, token), "token": token}))


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
    if user.is_admin:
        return order
    if user.role in (Role.HOST, Role.MODERATOR):
        # Hosts: their own sessions; moderators: the sessions they are assigned to.
        require_session_moderation(user, await services.catalogue.get_session(order.session_id))
        return order
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


@router.get("/cooperatives/{cid}/orders.csv")
async def cooperative_orders_csv(cid: PathId, user: CurrentUser, services: ServicesDep) -> Response:
    """The packing list (server/packing_csv.py): Vietnamese, every free-text cell escaped."""
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    await services.catalogue.get_cooperative(cid)
    body = packing_csv(await reports(services).cooperative_orders(cid))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="don-hang-htx-{cid}.csv"'},
    )
