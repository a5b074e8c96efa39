"""StripePayments against the in-process fake Stripe: sessions, retries, refunds, webhooks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shop.adapters.stripe_payments import StripePayments, unix_seconds
from shop.order_status import OrderStatus
from shop.orders import Order
from shop.payments.errors import InvalidWebhook, PaymentRefused, PaymentUnavailable
from shop.payments.port import CheckoutState, Draft, EventKind
from tests.fakes.stripe_fake import FakeStripe

HOLD = 600  # shorter than Stripe's 30-minute minimum, as FARMLIVE_HOLD_SECONDS may be


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
async def stripe_payments(fake: FakeStripe) -> AsyncIterator[StripePayments]:
    provider = StripePayments(
        api_key="sk_test_farmlive",
        webhook_secret=fake.webhook_secret,
        public_url="https://cho.example.vn/",
        hold_seconds=HOLD,
        api_base="https://stripe.fake.test",
        http_client=fake,
        max_network_retries=3,
    )
    yield provider
    await provider.close()


async def placed(
    provider: StripePayments, *, quantity: int = 2, unit_price: int = 250_000, **fields: Any
) -> Order:
    """An order as the order path writes it for card payment, terms from the provider."""
    now = fields.pop("created_at", datetime.now(UTC))
    order_id = str(uuid.uuid4())
    terms = await provider.terms(
        Draft(
            order_id=order_id,
            session_id=1,
            lot_id=1,
            quantity=quantity,
            unit_price=unit_price,
            total=quantity * unit_price,
            currency="VND",
            created_at=now,
            hold_expires_at=now + timedelta(seconds=HOLD),
        )
    )
    values: dict[str, Any] = {
        "id": order_id,
        "session_id": 1,
        "offer_id": 1,
        "lot_id": 1,
        "idempotency_key": "key-12345678",
        "request_hash": "0" * 64,
        "token_hash": "0" * 64,
        "status": OrderStatus.PENDING_PAYMENT,
        "quantity": quantity,
        "grams": 5_000 * quantity,
        "unit_price": unit_price,
        "total": quantity * unit_price,
        "currency": "VND",
        "buyer_name": "Chị Hoa",
        "buyer_phone": "0912345678",
        "province_code": "24",
        "province_name": "Bắc Ninh",
        "ward_code": None,
        "ward_name": "Phường Chũ",
        "street": "Thôn Bãi Bông",
        "payment_method": "stripe",
        "payment_ref": terms.payment_ref,
        "hold_expires_at": terms.hold_expires_at,
        "created_at": now,
        "updated_at": now,
        "flags": terms.flags,
    }
    values.update(fields)
    return Order(**values)


async def started(provider: StripePayments, order: Order) -> Order:
    start = await provider.begin(order, "buyer-token-123")
    assert start is not None
    flags = {**(order.flags or {}), **start.flags}
    return Order(**{**_fields(order), "payment_ref": start.payment_ref, "flags": flags})


def _fields(order: Order) -> dict[str, Any]:
    return {name: getattr(order, name) for name in order.__slots__}  # type: ignore[attr-defined]


async def test_checkout_session_is_built_from_the_order(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """Amounts in whole đồng, the order id in every reference field, expiry in Stripe's range."""
    order = await started(stripe_payments, await placed(stripe_payments))
    session = fake.session_for(order.id)
    params = session["_params"]
    [item] = params["line_items"]
    assert item["price_data"] == {
        "currency": "vnd",
        "unit_amount": "250000",
        "product_data": {"name": item["price_data"]["product_data"]["name"]},
    }
    assert item["quantity"] == "2" and session["amount_total"] == order.total == 500_000
    assert session["client_reference_id"] == order.id
    assert params["metadata"] == {"order_id": order.id}
    assert params["payment_intent_data"] == {"metadata": {"order_id": order.id}}
    assert (
        params["success_url"] == f"https://cho.example.vn/don-hang/{order.id}?token=buyer-token-123"
    )
    lifetime = session["expires_at"] - int(time.time())
    assert 30 * 60 <= lifetime <= 24 * 3600
    # The hold outlives the session: stock is never released while it can be paid.
    assert order.hold_expires_at is not None
    assert unix_seconds(order.hold_expires_at) > session["expires_at"]
    assert order.payment_ref == session["id"]
    assert stripe_payments.view(order, None)["checkout_url"] == session["url"]


async def test_lost_create_response_is_retried_into_one_session(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """A create whose answer is lost, then a 500: stripe-python retries with the same key; one session."""
    fake.fail("/v1/checkout/sessions", "lost")
    fake.fail("/v1/checkout/sessions", "500")
    order = await started(stripe_payments, await placed(stripe_payments))
    assert len(fake.sessions) == 1 and order.payment_ref in fake.sessions
    keys = {key for method, path, key in fake.calls if path == "/v1/checkout/sessions"}
    assert keys == {f"checkout-{order.id}"} and len(fake.calls) == 3


async def test_create_that_keeps_failing_can_be_resumed(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """Every retry lost -> PaymentUnavailable; beginning again later returns that same session."""
    order = await placed(stripe_payments)
    fake.fail("/v1/checkout/sessions", "lost", times=4)
    with pytest.raises(PaymentUnavailable):
        await stripe_payments.begin(order, "buyer-token-123")
    assert len(fake.sessions) == 1
    resumed = await started(stripe_payments, order)
    assert len(fake.sessions) == 1 and resumed.payment_ref in fake.sessions


async def test_stripe_refusal_is_a_refusal(stripe_payments: StripePayments) -> None:
    """A session Stripe will not create (expiry already too close) -> PaymentRefused, not a retry."""
    old = datetime.now(UTC) - timedelta(hours=1)
    order = await placed(stripe_payments, created_at=old)
    with pytest.raises(PaymentRefused):
        await stripe_payments.begin(order, "buyer-token-123")


async def test_close_checkout_expires_an_open_session(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """An open session is expired at Stripe; closing it again still says expired."""
    order = await started(stripe_payments, await placed(stripe_payments))
    assert (await stripe_payments.close_checkout(order)).state is CheckoutState.EXPIRED
    assert fake.sessions[order.payment_ref or ""]["status"] == "expired"
    assert (await stripe_payments.close_checkout(order)).state is CheckoutState.EXPIRED


async def test_close_checkout_of_a_paid_session_reports_the_payment(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """A session paid just before the sweeper came is not expired: its payment is reported."""
    order = await started(stripe_payments, await placed(stripe_payments))
    session = fake.pay(order.payment_ref or "")
    closed = await stripe_payments.close_checkout(order)
    assert closed.state is CheckoutState.COMPLETE and closed.paid is not None
    assert (closed.paid.kind, closed.paid.order_id, closed.paid.amount) == (
        EventKind.PAID,
        order.id,
        order.total,
    )
    assert closed.paid.payment_ref == session["payment_intent"]


async def test_refund_is_idempotent_per_order(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """A refund whose answer is lost is retried with key refund-<order id>; one refund, full amount."""
    order = await started(stripe_payments, await placed(stripe_payments))
    session = fake.pay(order.payment_ref or "")
    paid = Order(**{**_fields(order), "payment_ref": session["payment_intent"]})
    fake.fail("/v1/refunds", "lost")
    first = await stripe_payments.refund(paid)
    again = await stripe_payments.refund(paid)
    assert first == again and len(fake.refunds) == 1
    assert fake.refunds[first]["amount"] == order.total
    assert {key for _, path, key in fake.calls if path == "/v1/refunds"} == {f"refund-{order.id}"}


# -- webhooks -----------------------------------------------------------------------------


def completed(fake: FakeStripe, provider: StripePayments) -> bytes:
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "client_reference_id": "order-1",
        "metadata": {"order_id": "order-1"},
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 500_000,
        "currency": "vnd",
        "payment_intent": "pi_test_1",
    }
    return fake.event("checkout.session.completed", session, event_id="evt_test_1")


async def test_signed_event_is_translated(
    stripe_payments: StripePayments, fake: FakeStripe
) -> None:
    """A correctly signed completed session becomes a PAID event for its order, in đồng."""
    body = completed(fake, stripe_payments)
    event = stripe_payments.parse_webhook(body, fake.sign(body))
    assert (event.id, event.kind, event.order_id, event.amount, event.currency) == (
        "evt_test_1",
        EventKind.PAID,
        "order-1",
        500_000,
        "vnd",
    )
    assert event.payment_ref == "pi_test_1"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda f, b: (b.replace(b"500000", b"5000000"), f.sign(b)), id="tampered"),
        pytest.param(
            lambda f, b: (json.dumps(json.loads(b), indent=1).encode(), f.sign(b)),
            id="reserialised",
        ),
        pytest.param(lambda f, b: (b, f.sign(b, secret="whsec_other")), id="wrong-secret"),
        pytest.param(lambda f, b: (b, f.sign(b, timestamp=int(time.time()) - 301)), id="stale"),
        pytest.param(lambda f, b: (b, f.sign(b, timestamp=int(time.time()) + 301)), id="future"),
        pytest.param(lambda f, b: (b, None), id="no-header"),
        pytest.param(lambda f, b: (b, "t=abc,v1=00"), id="garbage-header"),
        pytest.param(lambda f, b: (b"\xff" + b, f.sign(b)), id="not-utf8"),
    ],
)
async def test_unverifiable_events_are_refused(
    stripe_payments: StripePayments, fake: FakeStripe, forge: Any
) -> None:
    """Tampered or re-serialised bodies, a wrong secret, stale or future timestamps: InvalidWebhook."""
    body, header = forge(fake, completed(fake, stripe_payments))
    with pytest.raises(InvalidWebhook):
        stripe_payments.parse_webhook(body, header)


async def test_webhooks_need_a_secret(fake: FakeStripe) -> None:
    """Without FARMLIVE_STRIPE_WEBHOOK_SECRET no event is believed (503, retried by Stripe)."""
    provider = StripePayments(
        api_key="sk_test_x", webhook_secret=None, public_url="http://x", hold_seconds=HOLD,
        http_client=fake,
    )  # fmt: skip
    body = completed(fake, provider)
    with pytest.raises(PaymentUnavailable):
        provider.parse_webhook(body, fake.sign(body))


@pytest.mark.parametrize(
    ("obj", "kind", "amount"),
    [
        ({"payment_status": "unpaid", "amount_total": 500_000}, EventKind.IGNORED, 500_000),
        ({"payment_status": "paid", "amount_total": 500_000.0}, EventKind.PAID, None),
        ({"payment_status": "paid", "amount_total": "500000"}, EventKind.PAID, None),
    ],
)
def test_only_paid_sessions_with_integer_amounts_count(
    stripe_payments: StripePayments, obj: dict[str, Any], kind: EventKind, amount: int | None
) -> None:
    """An unpaid completion is ignored; a float or text amount is not taken as đồng."""
    event = stripe_payments.translate(
        {
            "id": "evt_x",
            "type": "checkout.session.completed",
            "data": {"object": {"client_reference_id": "order-1", "currency": "vnd", **obj}},
        }
    )
    assert (event.kind, event.amount) == (kind, amount)


def test_unknown_events_are_ignored(stripe_payments: StripePayments) -> None:
    """Events farmlive does not use translate to IGNORED."""
    event = stripe_payments.translate(
        {"id": "evt_y", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    )
    assert event.kind is EventKind.IGNORED
