"""StripePayments: card payments through Stripe Checkout, confirmed by signed webhooks.

- One Checkout Session per order, created after the order row commits, with the
  idempotency key `checkout-<order id>` and parameters derived only from the stored row,
  so any retry (stripe-python's own, or the buyer re-sending the same order) gets the same
  session back.
- VND is a zero-decimal currency: `unit_amount` is whole đồng, exactly the order's price.
- Holds: Stripe will not let a session expire sooner than 30 minutes after it is created.
  The session's `expires_at` is `created_at + max(hold, 30 min) + 5 min` (the 5 minutes
  let a late retry of the create call still pass Stripe's minimum) and the order's hold
  lasts 2 minutes longer than that (clock skew), so the plain hold sweeper can never
  release stock while the session can still be paid. For shorter holds the payment
  sweeper expires the session itself once the order is `hold_seconds` old
  (`close_checkout`) and releases the stock only after Stripe says it is expired.
- Webhooks are verified on the raw body (`WebhookSignature.verify_header`, 300 s
  tolerance), and timestamps more than 300 s in the future are refused as well.
- Stripe errors become shop errors here: a refusal -> PaymentRefused (422), anything
  else -> PaymentUnavailable (503, retryable).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe

from shop.errors import InvalidInput
from shop.order_status import OrderStatus
from shop.orders import Order, PaymentMethod
from shop.payments.errors import InvalidWebhook, PaymentRefused, PaymentUnavailable
from shop.payments.port import (
    CheckoutState,
    Closed,
    Draft,
    EventKind,
    PaymentEvent,
    PaymentStart,
    Terms,
    payment_reference,
)

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

log = logging.getLogger("farmlive.payments.stripe")

CHECKOUT_MIN_SECONDS = 30 * 60  # Stripe's minimum lifetime of a Checkout Session
CHECKOUT_MAX_SECONDS = 24 * 3600  # and its maximum
CREATE_SLACK_SECONDS = 5 * 60
HOLD_MARGIN_SECONDS = 2 * 60
WEBHOOK_TOLERANCE_SECONDS = 300
ZERO_DECIMAL = frozenset({"VND"})  # the only currency farmlive sells in
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CHECKOUT_EVENTS = {
    "checkout.session.completed": EventKind.PAID,
    "checkout.session.async_payment_succeeded": EventKind.PAID,
    "checkout.session.async_payment_failed": EventKind.FAILED,
    "checkout.session.expired": EventKind.EXPIRED,
}


def unix_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, in integer arithmetic."""
    return (moment - _EPOCH) // timedelta(seconds=1)


def checkout_seconds(hold_seconds: int) -> int:
    """How long a Checkout Session lives for a given hold."""
    return min(max(hold_seconds, CHECKOUT_MIN_SECONDS) + CREATE_SLACK_SECONDS, CHECKOUT_MAX_SECONDS)


class StripePayments:
    """The `stripe` payment method: Checkout Sessions, refunds and webhooks."""

    method = PaymentMethod.STRIPE

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | None,
        public_url: str,
        hold_seconds: int,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 3,
        timeout_seconds: int = 10,
    ) -> None:
        self._http = http_client or stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            http_client=self._http,
            base_addresses={"api": api_base.rstrip("/")} if api_base else {},
            max_network_retries=max_network_retries,
        )
        self._webhook_secret = webhook_secret
        self._public_url = public_url.rstrip("/")
        self._hold_seconds = hold_seconds

    # -- placing --------------------------------------------------------------------
    async def terms(self, draft: Draft) -> Terms:
        if draft.currency.upper() not in ZERO_DECIMAL:
            raise PaymentRefused(
                f"card payments are set up for VND only, not {draft.currency}",
                field="payment_method",
            )
        expires = draft.created_at + timedelta(seconds=checkout_seconds(self._hold_seconds))
        return Terms(
            payment_ref=None,
            hold_expires_at=expires + timedelta(seconds=HOLD_MARGIN_SECONDS),
            flags={"payment": {"checkout_expires_at": unix_seconds(expires)}},
        )

    def checkout_params(self, order: Order, token: str) -> SessionCreateParams:
        """The Checkout Session for `order`: a function of the stored row only (idempotent)."""
        for name, value in (("unit_price", order.unit_price), ("total", order.total)):
            if type(value) is not int or value <= 0:
                raise InvalidInput(f"{name} must be a positive integer of đồng", field=name)
        if order.unit_price * order.quantity != order.total:
            raise InvalidInput("total must be unit_price × quantity", field="total")
        expires_at = ((order.flags or {}).get("payment") or {}).get("checkout_expires_at")
        if type(expires_at) is not int:
            expires_at = unix_seconds(
                order.created_at + timedelta(seconds=checkout_seconds(self._hold_seconds))
            )
        reference = payment_reference(order.id)
        page = f"{self._public_url}/don-hang/{order.id}?token={token}"
        return {
            "mode": "payment",
            "allowed_payment_method_types": ["card"],
            "line_items": [
                {
                    "quantity": order.quantity,
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": order.unit_price,
                        "product_data": {"name": f"farmlive {reference}"},
                    },
                }
            ],
            "client_reference_id": order.id,
            "metadata": {"order_id": order.id},
            "payment_intent_data": {"metadata": {"order_id": order.id}},
            "expires_at": expires_at,
            "locale": "vi",
            "success_url": page,
            "cancel_url": page,
        }

    async def begin(self, order: Order, token: str) -> PaymentStart | None:
        params = self.checkout_params(order, token)
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, options={"idempotency_key": f"checkout-{order.id}"}
            )
        except stripe.InvalidRequestError as exc:
            log.warning("stripe refused a checkout for order %s: %s", order.id, exc.user_message)
            raise PaymentRefused(
                "card payment is not possible for this order", field="payment_method"
            ) from exc
        except stripe.StripeError as exc:
            log.warning("stripe unavailable creating a checkout for %s: %s", order.id, exc)
            raise PaymentUnavailable("the card payment service is not answering") from exc
        return PaymentStart(
            payment_ref=session.id,
            flags={
                "payment": {
                    "checkout_expires_at": params["expires_at"],
                    "checkout_url": session.url,
                }
            },
        )

    def view(self, order: Order, token: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "amount": order.total,
            "currency": order.currency,
            "reference": payment_reference(order.id),
        }
        payment = (order.flags or {}).get("payment") or {}
        if order.status is OrderStatus.PENDING_PAYMENT and payment.get("checkout_url"):
            out["checkout_url"] = payment["checkout_url"]
        expires_at = payment.get("checkout_expires_at")
        if type(expires_at) is int:
            out["checkout_expires_at"] = _EPOCH + timedelta(seconds=expires_at)
        return out

    # -- after the hold -------------------------------------------------------------
    async def close_checkout(self, order: Order) -> Closed:
        session_id = order.payment_ref
        if not session_id or not session_id.startswith("cs_"):
            raise InvalidInput("this order has no checkout session to close")
        sessions = self._client.v1.checkout.sessions
        try:
            try:
                session = await sessions.expire_async(
                    session_id, options={"idempotency_key": f"expire-{order.id}"}
                )
            except stripe.InvalidRequestError:
                # Not open any more: it was paid, or it expired already. Ask which.
                session = await sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise PaymentUnavailable("the card payment service is not answering") from exc
        status = session.status
        if status == "expired":
            return Closed(CheckoutState.EXPIRED)
        if status == "complete":
            event = self._checkout_event(
                f"{session_id}:complete", "checkout.session.completed", session.to_dict()
            )
            return Closed(CheckoutState.COMPLETE, event)
        return Closed(CheckoutState.OPEN)

    async def refund(self, order: Order) -> str:
        payment_intent = order.payment_ref
        if not payment_intent or not payment_intent.startswith("pi_"):
            raise InvalidInput("this order has no card payment to refund")
        try:
            refund = await self._client.v1.refunds.create_async(
                {
                    "payment_intent": payment_intent,
                    "amount": order.total,
                    "metadata": {"order_id": order.id},
                },
                options={"idempotency_key": f"refund-{order.id}"},
            )
        except stripe.StripeError as exc:
            raise PaymentUnavailable("the card payment service is not answering") from exc
        return refund.id

    # -- webhooks -------------------------------------------------------------------
    def parse_webhook(self, body: bytes, signature: str | None) -> PaymentEvent:
        if not self._webhook_secret:
            raise PaymentUnavailable("stripe webhooks are not configured on this server")
        try:
            stripe.WebhookSignature.verify_header(
                body, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidWebhook("the Stripe-Signature does not match this body") from exc
        # verify_header refuses old timestamps only; a future one is as suspicious.
        if _header_timestamp(signature or "") > int(time.time()) + WEBHOOK_TOLERANCE_SECONDS:
            raise InvalidWebhook("the Stripe-Signature timestamp is in the future")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InvalidWebhook("the body is not JSON") from exc
        if not isinstance(data, dict):
            raise InvalidWebhook("the body is not a Stripe event")
        return self.translate(data)

    def translate(self, data: dict[str, Any]) -> PaymentEvent:
        """A verified Stripe event as a PaymentEvent (IGNORED for everything we do not use)."""
        event_id, event_type = data.get("id"), data.get("type")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
            raise InvalidWebhook("the event has no id")
        if not isinstance(event_type, str):
            raise InvalidWebhook("the event has no type")
        obj = (data.get("data") or {}).get("object")
        if not isinstance(obj, dict):
            return self._ignored(event_id, event_type)
        if event_type in _CHECKOUT_EVENTS:
            return self._checkout_event(event_id, event_type, obj)
        if event_type == "charge.refunded":
            refunded = obj.get("refunded") is True
            return PaymentEvent(
                id=event_id,
                provider=self.method,
                type=event_type,
                kind=EventKind.REFUNDED if refunded else EventKind.PARTIALLY_REFUNDED,
                order_id=_order_id(obj),
                payment_ref=_id_of(obj.get("payment_intent")),
                amount=_int(obj.get("amount_refunded")),
                currency=_str(obj.get("currency")),
                detail={
                    "charge": _str(obj.get("id")),
                    "amount_refunded": _int(obj.get("amount_refunded")),
                },
            )
        if event_type == "charge.dispute.created":
            return PaymentEvent(
                id=event_id,
                provider=self.method,
                type=event_type,
                kind=EventKind.DISPUTED,
                order_id=_order_id(obj),
                payment_ref=_id_of(obj.get("payment_intent")),
                amount=_int(obj.get("amount")),
                currency=_str(obj.get("currency")),
                detail={
                    "dispute": _str(obj.get("id")),
                    "reason": _str(obj.get("reason")),
                    "status": _str(obj.get("status")),
                    "amount": _int(obj.get("amount")),
                },
            )
        return self._ignored(event_id, event_type)

    def _checkout_event(self, event_id: str, event_type: str, obj: dict[str, Any]) -> PaymentEvent:
        kind = _CHECKOUT_EVENTS[event_type]
        if event_type == "checkout.session.completed" and obj.get("payment_status") != "paid":
            # Completed but not paid yet (a delayed method): wait for async_payment_*.
            kind = EventKind.IGNORED
        order_id = _str(obj.get("client_reference_id")) or _order_id(obj)
        return PaymentEvent(
            id=event_id,
            provider=self.method,
            type=event_type,
            kind=kind,
            order_id=order_id if order_id and len(order_id) <= 36 else None,
            payment_ref=_id_of(obj.get("payment_intent")),
            amount=_int(obj.get("amount_total")),
            currency=_str(obj.get("currency")),
            detail={"session": _str(obj.get("id"))},
        )

    def _ignored(self, event_id: str, event_type: str) -> PaymentEvent:
        return PaymentEvent(event_id, self.method, event_type, EventKind.IGNORED)

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _header_timestamp(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise InvalidWebhook("the Stripe-Signature has no timestamp")


def _int(value: Any) -> int | None:
    # JSON integers only: 250000.0 is not an amount of đồng we accept.
    return value if type(value) is int else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id_of(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or as an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return _str(value)


def _order_id(obj: dict[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    order_id = _str(metadata.get("order_id")) if isinstance(metadata, dict) else None
    return order_id if order_id and len(order_id) <= 36 else None
