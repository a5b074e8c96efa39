"""Card payments end to end: the order API, the fake Stripe, and signed webhook deliveries."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shop.adapters.sql.tables import payment_events
from shop.payments.service import PaymentService
from tests.conftest import Api
from tests.fakes.stripe_fake import FakeStripe
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body, settle

WEBHOOK_SECRET = "whsec_farmlive_test"
HOLD_SECONDS = 600  # shorter than a Checkout Session may live: the sweeper closes it
HOOK = "/api/payments/stripe/webhook"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe(WEBHOOK_SECRET)


@pytest.fixture
def settings(database_url: str):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-which-is-long-enough",
        stripe_secret_key="sk_test_farmlive",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base="https://stripe.fake.test",
        public_url="https://cho.example.vn",
        hold_seconds=HOLD_SECONDS,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def app_options(fake: FakeStripe) -> dict[str, object]:
    return {"payment_http_client": fake}


@pytest.fixture
async def payments(api: Api) -> PaymentService:
    """The app's PaymentService with its background sweeper stopped: tests sweep by hand."""
    service: PaymentService = api.app.state.services.payments
    await service.stop()
    return service


async def card_order(
    api: Api, s: dict[str, Any], code: str = "VL5", quantity: int = 1, **kw: Any
) -> dict[str, Any]:
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"][code], quantity, method="stripe", **kw),
        headers=key(),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def deliver(
    api: Api, fake: FakeStripe, body: bytes, header: str | None = None
) -> httpx.Response:
    """POST an event the way Stripe does: raw JSON bytes and a Stripe-Signature header."""
    return await api.client.post(
        HOOK,
        content=body,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": fake.sign(body) if header is None else header,
        },
    )


async def status_of(api: Api, order_id: str) -> str:
    order = await api.app.state.services.orders.store.get(order_id)
    return str(order.status.value)


async def events_recorded(api: Api) -> int:
    async with api.app.state.services.engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(payment_events))).scalar_one()
        )


async def test_card_order_opens_a_checkout_session(api: Api, fake: FakeStripe) -> None:
    """201 pending_payment with the session's URL; stock held at least until the session is dead."""
    s = await live_session(api)
    order = await card_order(api, s, "VL5", 2)
    session = fake.session_for(order["id"])
    assert order["status"] == "pending_payment"
    assert order["payment"]["method"] == "stripe"
    assert order["payment"]["checkout_url"] == session["url"]
    assert session["amount_total"] == order["total"] == 500_000
    hold = datetime.fromisoformat(order["hold_expires_at"])
    assert hold.timestamp() > session["expires_at"] >= time.time() + 30 * 60
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 10_000


async def test_lost_create_response_makes_one_session(api: Api, fake: FakeStripe) -> None:
    """A create whose answer is lost is retried by stripe-python with the same key: one session."""
    s = await live_session(api)
    fake.fail("/v1/checkout/sessions", "lost")
    order = await card_order(api, s)
    assert len(fake.sessions) == 1
    assert order["payment"]["checkout_url"] == fake.session_for(order["id"])["url"]


async def test_stripe_outage_keeps_the_order_and_resumes(api: Api, fake: FakeStripe) -> None:
    """Stripe unreachable -> 503 retryable; the buyer's retry (same key) gets the one session."""
    s = await live_session(api)
    headers = key()
    body = order_body(s["offers"]["VL5"], method="stripe")
    fake.fail("/v1/checkout/sessions", "lost", times=4)
    down = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    assert down.status_code == 503 and down.json()["error"]["code"] == "payment_unavailable"
    again = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    assert again.status_code == 200, again.text
    assert len(fake.sessions) == 1
    assert again.json()["payment"]["checkout_url"] == fake.session_for(again.json()["id"])["url"]


async def test_stripe_refusal_cancels_the_order(api: Api, fake: FakeStripe) -> None:
    """Stripe refusing the session cancels the order and frees its stock; a retry says the same."""
    s = await live_session(api)
    headers = key()
    body = order_body(s["offers"]["VL5"], method="stripe")
    fake.fail("/v1/checkout/sessions", "400")
    answers = [
        await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
        for _ in range(2)
    ]
    assert [r.json()["status"] for r in answers] == ["cancelled", "cancelled"]
    assert len({r.json()["id"] for r in answers}) == 1
    assert "checkout_url" not in answers[0].json()["payment"] and fake.sessions == {}
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 0


async def test_five_concurrent_deliveries_pay_once(api: Api, fake: FakeStripe) -> None:
    """The same signed completed event five times at once: five 200s, one sale, tonnage once."""
    s = await live_session(api)
    order = await card_order(api, s, "VL10", 3)
    session = fake.pay(fake.session_for(order["id"])["id"])
    body = fake.event("checkout.session.completed", session)
    results = await asyncio.gather(*[deliver(api, fake, body) for _ in range(5)])
    assert [r.status_code for r in results] == [200] * 5
    assert sorted(r.json()["duplicate"] for r in results) == [False, True, True, True, True]
    assert await status_of(api, order["id"]) == "paid"
    assert await events_recorded(api) == 1
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (30_000, 0)
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert (stats["sold_grams"], stats["revenue"]) == (30_000, 1_440_000)
    mine = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    assert mine.json()["status"] == "paid" and "checkout_url" not in mine.json()["payment"]


async def test_expired_after_completed_leaves_it_paid(api: Api, fake: FakeStripe) -> None:
    """An `expired` event delivered after `completed` changes nothing."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    assert (
        await deliver(api, fake, fake.event("checkout.session.completed", session))
    ).status_code == 200
    late = fake.event("checkout.session.expired", {**session, "status": "expired"})
    assert (await deliver(api, fake, late)).status_code == 200
    assert await status_of(api, order["id"]) == "paid"
    assert (await assert_invariant(api, s["lot_id"]))["sold"] == 5_000


async def test_completed_after_expired_still_sells_if_stock_is_left(
    api: Api, fake: FakeStripe
) -> None:
    """Out of order: `expired` first releases the stock; the later `completed` takes it again."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    expired = fake.event("checkout.session.expired", {**session, "status": "expired"})
    assert (await deliver(api, fake, expired)).status_code == 200
    assert await status_of(api, order["id"]) == "expired"
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 0
    assert (
        await deliver(api, fake, fake.event("checkout.session.completed", session))
    ).status_code == 200
    assert await status_of(api, order["id"]) == "paid"
    assert (await assert_invariant(api, s["lot_id"]))["sold"] == 5_000
    assert fake.refunds == {}


def _reserialised(fake: FakeStripe, body: bytes) -> tuple[bytes, str]:
    return json.dumps(json.loads(body), indent=2).encode(), fake.sign(body)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda f, b: (b.replace(b'"paid"', b'"PAID"'), f.sign(b)), id="tampered"),
        pytest.param(_reserialised, id="reserialised"),
        pytest.param(lambda f, b: (b, f.sign(b, secret="whsec_wrong")), id="wrong-secret"),
        pytest.param(lambda f, b: (b, f.sign(b, timestamp=int(time.time()) - 600)), id="stale"),
        pytest.param(lambda f, b: (b, f.sign(b, timestamp=int(time.time()) + 600)), id="future"),
        pytest.param(lambda f, b: (b, ""), id="no-signature"),
    ],
)
async def test_unverified_webhooks_change_nothing(api: Api, fake: FakeStripe, forge: Any) -> None:
    """Tampered, re-serialised, wrongly signed, stale or future events: 400 and no change."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    body, header = forge(fake, fake.event("checkout.session.completed", session))
    r = await deliver(api, fake, body, header)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    assert await status_of(api, order["id"]) == "pending_payment"
    assert await events_recorded(api) == 0
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (0, 5_000)


async def test_unknown_and_unpaid_events_are_acknowledged_and_ignored(
    api: Api, fake: FakeStripe
) -> None:
    """An event type we do not use, or a completion still unpaid: 200, nothing changes."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.session_for(order["id"])
    for body in (
        fake.event("customer.created", {"id": "cus_1", "object": "customer"}),
        fake.event("checkout.session.completed", {**session, "status": "complete"}),
    ):
        r = await deliver(api, fake, body)
        assert r.status_code == 200
    assert await status_of(api, order["id"]) == "pending_payment"


async def test_async_payment_succeeded_and_failed(api: Api, fake: FakeStripe) -> None:
    """A delayed payment that succeeds sells; one that fails cancels and gives the stock back."""
    s = await live_session(api)
    good, bad = await card_order(api, s), await card_order(api, s, phone="0987654321")
    paid = fake.pay(fake.session_for(good["id"])["id"])
    failed = {**fake.session_for(bad["id"]), "status": "complete", "payment_status": "unpaid"}
    assert (
        await deliver(api, fake, fake.event("checkout.session.async_payment_succeeded", paid))
    ).status_code == 200
    assert (
        await deliver(api, fake, fake.event("checkout.session.async_payment_failed", failed))
    ).status_code == 200
    assert (await status_of(api, good["id"]), await status_of(api, bad["id"])) == (
        "paid",
        "cancelled",
    )
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (5_000, 0)


async def test_amount_mismatch_is_flagged_not_sold(api: Api, fake: FakeStripe) -> None:
    """A completion whose amount differs from the order's stays unpaid and is flagged for staff."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    body = fake.event("checkout.session.completed", {**session, "amount_total": 1})
    assert (await deliver(api, fake, body)).status_code == 200
    stored = await api.app.state.services.orders.store.get(order["id"])
    assert stored.status.value == "pending_payment"
    assert stored.flags["payment_mismatch"]["amount"] == 1


async def test_money_on_a_sold_out_lot_is_refunded_once(
    api: Api, fake: FakeStripe, payments: PaymentService
) -> None:
    """A card payment landing after its stock went to someone else: cancelled and refunded once."""
    s = await live_session(api, stock_grams=10_000)
    services = api.app.state.services
    late = await card_order(api, s, "VL10")
    # The hold lapses (the session expiry margin passes), and a COD buyer takes the lot.
    await services.orders.store.expire_due(datetime.now(UTC) + timedelta(days=2))
    await settle(api)
    cod = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], phone="0987654321"),
        headers=key(),
    )
    assert cod.status_code == 201
    session = fake.pay(fake.session_for(late["id"])["id"])
    body = fake.event("checkout.session.completed", session)
    for _ in range(2):
        assert (await deliver(api, fake, body)).status_code == 200
    assert await status_of(api, late["id"]) == "cancelled"
    [refund] = fake.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (480_000, session["payment_intent"])
    assert {k for _, path, k in fake.calls if path == "/v1/refunds"} == {f"refund-{late['id']}"}
    stored = await services.orders.store.get(late["id"])
    assert (
        stored.flags["refund"]["state"] == "sent" and stored.flags["refund"]["id"] == refund["id"]
    )
    assert await payments.sweep() == [] and len(fake.refunds) == 1
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"], f["available"]) == (10_000, 0, 0)
    # Stripe then reports the refund: the cancelled order just notes it.
    refunded = fake.charge_event("charge.refunded", session["payment_intent"])
    assert (await deliver(api, fake, refunded)).status_code == 200
    assert await status_of(api, late["id"]) == "cancelled"


async def test_refund_while_stripe_is_down_is_retried_by_the_sweeper(
    api: Api, fake: FakeStripe, payments: PaymentService
) -> None:
    """A due refund that Stripe cannot take now stays due, and the sweeper sends it later, once."""
    s = await live_session(api, stock_grams=10_000)
    services = api.app.state.services
    late = await card_order(api, s, "VL10")
    cancelled = await api.client.post(f"/api/orders/{late['id']}/cancel", headers=api.auth("host"))
    assert cancelled.json()["status"] == "cancelled"
    session = fake.pay(fake.session_for(late["id"])["id"])
    fake.fail("/v1/refunds", "500", times=4)
    body = fake.event("checkout.session.completed", session)
    assert (await deliver(api, fake, body)).status_code == 200
    assert fake.refunds == {}
    await payments.sweep()
    await payments.sweep()
    assert len(fake.refunds) == 1
    assert (await services.orders.store.get(late["id"])).flags["refund"]["state"] == "sent"


async def test_refund_takes_the_grams_out_once_without_restocking(
    api: Api, fake: FakeStripe
) -> None:
    """charge.refunded: paid -> refunded, tonnage down once, the grams written off (not resold)."""
    s = await live_session(api)
    order = await card_order(api, s, "VL10")
    session = fake.pay(fake.session_for(order["id"])["id"])
    await deliver(api, fake, fake.event("checkout.session.completed", session))
    before = await assert_invariant(api, s["lot_id"])
    charge = fake.charges[session["payment_intent"]]
    charge.update(refunded=True, amount_refunded=charge["amount"])
    refunded = fake.charge_event("charge.refunded", session["payment_intent"])
    for _ in range(2):
        assert (await deliver(api, fake, refunded)).status_code == 200
    assert await status_of(api, order["id"]) == "refunded"
    after = await assert_invariant(api, s["lot_id"])
    assert after["sold"] == before["sold"] - 10_000
    assert after["stock"] == before["stock"] - 10_000
    assert after["available"] == before["available"]
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert (stats["sold_grams"], stats["revenue"]) == (0, 0)


async def test_dispute_is_flagged_on_the_order(api: Api, fake: FakeStripe) -> None:
    """charge.dispute.created flags the order (found by its PaymentIntent); it stays paid."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    await deliver(api, fake, fake.event("checkout.session.completed", session))
    dispute = fake.charge_event("charge.dispute.created", session["payment_intent"])
    assert (await deliver(api, fake, dispute)).status_code == 200
    stored = await api.app.state.services.orders.store.get(order["id"])
    assert stored.status.value == "paid"
    assert stored.flags["dispute"]["reason"] == "fraudulent"


async def test_sweeper_expires_the_session_before_releasing_stock(
    api: Api, fake: FakeStripe, payments: PaymentService
) -> None:
    """After the (short) hold the sweeper expires the session at Stripe, then releases the stock."""
    s = await live_session(api)
    order = await card_order(api, s)
    assert await payments.sweep() == []  # hold not over yet
    assert fake.session_for(order["id"])["status"] == "open"
    later = datetime.now(UTC) + timedelta(seconds=HOLD_SECONDS + 1)
    assert await payments.sweep(later) == [order["id"]]
    assert fake.session_for(order["id"])["status"] == "expired"
    assert await status_of(api, order["id"]) == "expired"
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 0
    # Stripe's own `expired` event arrives afterwards: nothing more to do.
    expired = fake.event("checkout.session.expired", fake.session_for(order["id"]))
    assert (await deliver(api, fake, expired)).status_code == 200
    assert await status_of(api, order["id"]) == "expired"


async def test_sweeper_finds_a_payment_the_webhook_has_not_brought_yet(
    api: Api, fake: FakeStripe, payments: PaymentService
) -> None:
    """A session paid just before the sweeper: Stripe refuses to expire it, so the order is paid."""
    s = await live_session(api)
    order = await card_order(api, s)
    session = fake.pay(fake.session_for(order["id"])["id"])
    later = datetime.now(UTC) + timedelta(seconds=HOLD_SECONDS + 1)
    assert await payments.sweep(later) == []
    assert await status_of(api, order["id"]) == "paid"
    # The webhook comes later: a no-op.
    assert (
        await deliver(api, fake, fake.event("checkout.session.completed", session))
    ).status_code == 200
    assert (await assert_invariant(api, s["lot_id"]))["sold"] == 5_000
