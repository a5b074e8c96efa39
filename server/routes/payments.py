"""Payment endpoints: Stripe's webhook, and the VietQR image of a bank-transfer order."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from server.deps import ServicesDep
from server.errors import TooLarge
from server.services import Services
from shop.errors import NotFound
from shop.orders import PaymentMethod
from shop.payments.bank_transfer import BankTransfer
from shop.payments.service import PaymentService

router = APIRouter(prefix="/api", tags=["payments"])

WEBHOOK_MAX_BYTES = 256 * 1024  # Stripe events are a few KiB


def _payments(services: Services) -> PaymentService:
    if services.payments is None:
        raise NotFound("payments are not set up on this server")
    return services.payments


@router.post("/payments/stripe/webhook")
async def stripe_webhook(
    request: Request,
    services: ServicesDep,
    stripe_signature: Annotated[str | None, Header(max_length=2048)] = None,
) -> dict[str, Any]:
    """A Stripe event, verified on the raw bytes; a repeated event id changes nothing."""
    payments = _payments(services)
    gateway = payments.gateway(PaymentMethod.STRIPE)  # 404 while Stripe is not configured
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > WEBHOOK_MAX_BYTES:
            raise TooLarge(WEBHOOK_MAX_BYTES)
    event = gateway.parse_webhook(bytes(body), stripe_signature)
    applied = await payments.handle(event)
    return {"received": True, "duplicate": applied.duplicate}


@router.get(
    "/orders/{order_id}/vietqr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the VietQR to scan"}},
)
async def order_vietqr(
    order_id: str,
    services: ServicesDep,
    token: Annotated[str, Query(min_length=8, max_length=128)],
) -> Response:
    """The VietQR of a bank-transfer order still waiting for its money, for its buyer."""
    order = await services.orders.get_for_buyer(order_id[:64], token)
    provider = _payments(services).providers.get(order.payment_method)
    if not isinstance(provider, BankTransfer):
        raise NotFound("this order is not paid by bank transfer")
    return Response(
        await provider.qr_png(order),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=300"},
    )
