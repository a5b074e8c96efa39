"""Delivery: ship (one order or a batch from /coop), delivered, returned, labels, carrier
callbacks. Every order move goes through the order service's one transition path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.errors import TooLarge
from server.routes.orders import order_view, staff_order
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, require_cooperative, require_role
from shop.errors import InvalidInput, NotFound
from shop.labels import Label, render_labels
from shop.orders import Order, PaymentMethod
from shop.shipping import Shipment, ShipmentState, ShippingService

router = APIRouter(prefix="/api", tags=["delivery"])

FONTS = Path(__file__).resolve().parent.parent / "fonts"
WEBHOOK_MAX_BYTES = 64 * 1024
BATCH_MAX = 500  # orders per batch: one labels PDF a printer takes in one go


class ShipBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # An adapter's name (ghn, ghtk) or any other carrier, shipped by hand with `tracking`.
    carrier: str = Field(min_length=2, max_length=40, pattern=r"^[\w .\-]+$")
    tracking: str | None = Field(default=None, min_length=3, max_length=64, pattern=r"^[\w.\-]+$")


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=BATCH_MAX
    )
    carrier: str = Field(min_length=2, max_length=16, pattern=r"^[a-z]+$")


def _shipping(services: Services) -> ShippingService:
    assert services.shipping is not None
    return services.shipping


def shipment_view(shipment: Shipment | None) -> dict[str, Any] | None:
    """What staff see of a waybill job, including why it is still waiting."""
    if shipment is None:
        return None
    return {
        "order_id": shipment.order_id,
        "carrier": shipment.carrier,
        "state": shipment.state.value,
        "tracking": shipment.tracking,
        "tracking_url": shipment.tracking_url,
        "fee": shipment.fee,
        "delivery": shipment.delivery,
        "carrier_status": shipment.raw_status,
        "attempts": shipment.attempts,
        "next_attempt_at": shipment.next_attempt_at,
        "last_error": shipment.last_error,
        "batch_id": shipment.batch_id,
    }


@router.get("/carriers")
async def list_carriers(services: ServicesDep) -> dict[str, Any]:
    """The carriers this server makes waybills with; any other ships by hand."""
    return {"carriers": sorted(_shipping(services).carriers), "by_hand": True}


@router.post("/orders/{order_id}/ship")
async def ship_order(
    order_id: Annotated[str, PathParam(max_length=64)],
    body: ShipBody,
    user: CurrentUser,
    services: ServicesDep,
) -> dict[str, Any]:
    """Ship a confirmed or paid order; idempotent (a shipped order stays as it is)."""
    order = await staff_order(services, user, order_id)
    carrier = body.carrier.strip().lower() if body.tracking is None else body.carrier.strip()
    moved, shipment = await _shipping(services).ship(order, carrier, body.tracking, user.id)
    return {**order_view(moved, services), "shipment": shipment_view(shipment)}


@router.post("/orders/{order_id}/delivered")
async def order_delivered(
    order_id: Annotated[str, PathParam(max_length=64)], user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """The buyer has it (COD collected); idempotent."""
    order = await staff_order(services, user, order_id)
    return order_view(await _shipping(services).delivered(order.id, user.id), services)


@router.post("/orders/{order_id}/returned")
async def order_returned(
    order_id: Annotated[str, PathParam(max_length=64)], user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Refused at the door or sent back: counts as a refusal for the phone; idempotent."""
    order = await staff_order(services, user, order_id)
    return order_view(await _shipping(services).returned(order.id, user.id), services)


@router.get("/orders/{order_id}/shipment")
async def order_shipment(
    order_id: Annotated[str, PathParam(max_length=64)], user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """The order's waybill job and buyer messages, with their states and last errors."""
    order = await staff_order(services, user, order_id)
    assert services.shipments is not None and services.notification_log is not None
    found = await services.shipments.get_many([order.id])
    return {
        "shipment": shipment_view(found.get(order.id)),
        "messages": await services.notification_log.for_order(order.id),
    }


async def _coop_orders(services: Services, cid: int, order_ids: list[str]) -> list[Order]:
    found = await services.orders.store.get_many(order_ids)
    missing = [i for i in order_ids if i not in found]
    if missing:
        raise NotFound(f"no such order: {missing[0]}")
    lots = {o.lot_id for o in found.values()}
    coops = {f.lot_id: f.cooperative_id for f in await services.catalogue.lot_figures(sorted(lots))}
    if any(coops.get(o.lot_id) != cid for o in found.values()):
        raise InvalidInput("every order must be one of this cooperative's", field="order_ids")
    return [found[i] for i in dict.fromkeys(order_ids)]


@router.post("/cooperatives/{cid}/shipments", status_code=201)
async def ship_batch(
    cid: PathId, body: BatchBody, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Waybills for the selected confirmed orders, and the labels PDF to print."""
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    orders = await _coop_orders(services, cid, body.order_ids)
    batch_id, shipments = await _shipping(services).ship_batch(orders, body.carrier, user.id)
    return {
        "batch_id": batch_id,
        "shipments": [shipment_view(s) for s in shipments],
        "labels_url": f"/api/cooperatives/{cid}/shipments/{batch_id}/labels.pdf",
    }


@router.get(
    "/cooperatives/{cid}/shipments/{batch_id}/labels.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "one label per order"}},
)
async def batch_labels(
    cid: PathId,
    batch_id: Annotated[str, PathParam(min_length=36, max_length=36)],
    user: CurrentUser,
    services: ServicesDep,
) -> Response:
    """The batch's labels (orders whose waybill exists), one A6 page each."""
    require_role(user, Role.COOP)
    require_cooperative(user, cid)
    assert services.shipments is not None
    shipments = [
        s for s in await services.shipments.batch(batch_id) if s.state is ShipmentState.CREATED
    ]
    orders = await _coop_orders(services, cid, [s.order_id for s in shipments]) if shipments else []
    coop = await services.catalogue.get_cooperative(cid)
    by_id = {s.order_id: s for s in shipments}
    labels = [_label(o, by_id[o.id], coop.name, await _product(services, o)) for o in orders]
    if not labels:
        raise NotFound("no waybill of this batch is ready yet")
    pdf = await asyncio.to_thread(render_labels, labels, FONTS)  # ~ms per page: off the loop
    return Response(
        pdf, media_type="application/pdf", headers={"Cache-Control": "private, no-store"}
    )


async def _product(services: Services, order: Order) -> str:
    return (await services.catalogue.get_lot(order.lot_id)).product


def _label(order: Order, shipment: Shipment, sender: str, product: str) -> Label:
    return Label(
        order_code=order.code or order.id[:8].upper(),
        carrier=shipment.carrier,
        tracking=shipment.tracking,
        to_name=order.buyer_name,
        to_phone=order.buyer_phone,
        address=", ".join(p for p in (order.street, order.ward_name, order.province_name) if p),
        cod_amount=order.total if order.payment_method == PaymentMethod.COD else 0,
        weight_grams=order.grams,
        content=f"{product} × {order.quantity}",
        sender=sender,
    )


@router.post("/carriers/{carrier}/webhook")
async def carrier_webhook(
    carrier: Annotated[str, PathParam(pattern=r"^(ghn|ghtk)$")],
    request: Request,
    services: ServicesDep,
    secret: Annotated[str | None, Query(max_length=200)] = None,
    hash: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """A carrier's status callback, verified (the secret in its URL) before it is read."""
    shipping = _shipping(services)
    adapter = shipping.carriers.get(carrier)
    if adapter is None:
        raise NotFound(f"carrier {carrier} is not set up on this server")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > WEBHOOK_MAX_BYTES:
            raise TooLarge(WEBHOOK_MAX_BYTES)
    headers = {
        "x-farmlive-secret": secret or "",
        "x-farmlive-hash": hash or "",
        "content-type": request.headers.get("content-type", ""),
    }
    update = adapter.parse_webhook(bytes(body), headers)
    order = await shipping.carrier_update(carrier, update)
    return {"success": True, "status": None if order is None else order.status.value}
