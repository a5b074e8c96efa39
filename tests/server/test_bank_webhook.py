"""Bank transfers matched from SePay's webhook: paid once, the rest queued for staff."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.adapters.sql.tables import audit_log, bank_transfers, payment_events
from tests.conftest import Api
from tests.fakes.sepay_fake import delivery, transaction
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body

API_KEY = "sepay-key-for-tests"
HOOK = "/api/payments/sepay/webhook"


@pytest.fixture
def settings(database_url: str):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-which-is-long-enough",
        sepay_api_key=API_KEY,
        _env_file=None,  # type: ignore[call-arg]
    )


async def transfer_order(api: Api, s: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], quantity, method="bank_transfer"),
        headers=key(),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def send(api: Api, tx: dict[str, Any], api_key: str = API_KEY) -> Any:
    body, headers = delivery(tx, api_key)
    return await api.client.post(HOOK, content=body, headers=headers)


async def status_of(api: Api, order: dict[str, Any]) -> str:
    r = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    return r.json()["status"]  # type: ignore[no-any-return]


async def count(api: Api, table: Any, *where: Any) -> int:
    async with api.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(
            (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
        )


async def test_transfer_with_reference_and_amount_marks_paid(api: Api) -> None:
    """A transfer whose note holds the order's reference (glued to other words) pays it."""
    s = await live_session(api)
    order = await transfer_order(api, s, 2)
    ref = order["payment"]["reference"]
    r = await send(
        api, transaction(f"NGUYEN THI HOA chuyen tien{ref.lower()} FT2633", order["total"])
    )
    assert r.status_code == 200 and r.json()["success"] is True
    assert r.json()["outcome"] == "paid" and r.json()["order_id"] == order["id"]
    assert await status_of(api, order) == "paid"
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["sold"] == order["grams"] and figures["held"] == 0


async def test_five_concurrent_duplicates_make_one_transition(api: Api) -> None:
    """Five copies of one transaction delivered at once: one payment, one audit entry."""
    s = await live_session(api)
    order = await transfer_order(api, s)
    tx = transaction(order["payment"]["reference"], order["total"])
    results = await asyncio.gather(*[send(api, tx) for _ in range(5)])
    assert [r.status_code for r in results] == [200] * 5
    assert await status_of(api, order) == "paid"
    assert await count(api, payment_events, payment_events.c.id == f"sepay:{tx['id']}") == 1
    assert await count(api, audit_log, audit_log.c.object_id == order["id"],
                       audit_log.c.action == "payment.paid") == 1  # fmt: skip
    assert await count(api, bank_transfers) == 1
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["sold"] == order["grams"]


async def test_wrong_key_is_400_and_changes_nothing(api: Api) -> None:
    """A delivery with the wrong API key (or none) is 400 invalid_signature; nothing moves."""
    s = await live_session(api)
    order = await transfer_order(api, s)
    tx = transaction(order["payment"]["reference"], order["total"])
    r = await send(api, tx, api_key="not-the-key")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
    body, _ = delivery(tx, API_KEY)
    r = await api.client.post(HOOK, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert await status_of(api, order) == "pending_payment"
    assert await count(api, payment_events) == 0 and await count(api, bank_transfers) == 0


async def test_wrong_amount_and_unknown_reference_go_to_the_staff_queue(api: Api) -> None:
    """Short money flags the order and stays unpaid; an unknown note is queued; staff resolve."""
    s = await live_session(api)
    order = await transfer_order(api, s)
    short = transaction(order["payment"]["reference"], order["total"] - 1000)
    assert (await send(api, short)).json()["outcome"] == "mismatch"
    assert (await send(api, transaction("tien vai thieu", 480_000))).json()[
        "outcome"
    ] == "unmatched"
    assert (await send(api, transaction("FLDEADBEEF00", 480_000))).json()["outcome"] == "unmatched"
    assert await status_of(api, order) == "pending_payment"
    queue = (await api.client.get("/api/payments/bank-transfers", headers=api.auth("admin"))).json()
    assert [q["outcome"] for q in queue] == ["mismatch", "unmatched", "unmatched"]
    assert queue[0]["order_id"] == order["id"] and queue[0]["amount"] == order["total"] - 1000
    r = await api.client.get("/api/payments/bank-transfers", headers=api.auth("coop"))
    assert r.status_code == 403
    r = await api.client.post(
        f"/api/payments/bank-transfers/{queue[1]['id']}/resolve",
        json={"resolution": "trả lại khách"},
        headers=api.auth("admin"),
    )
    assert r.status_code == 200 and r.json()["resolved_by"] is not None
    left = (await api.client.get("/api/payments/bank-transfers", headers=api.auth("admin"))).json()
    assert len(left) == 2
    # The right amount afterwards still pays it.
    full = transaction(order["payment"]["reference"], order["total"])
    assert (await send(api, full)).json()["outcome"] == "paid"


async def test_money_for_a_cancelled_order_is_queued_as_refund_due(api: Api) -> None:
    """A transfer landing after staff cancelled the order keeps it cancelled; refund by hand."""
    s = await live_session(api)
    order = await transfer_order(api, s)
    r = await api.client.post(f"/api/orders/{order['id']}/cancel", headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    tx = transaction(order["payment"]["reference"], order["total"])
    assert (await send(api, tx)).json()["outcome"] == "refund_due"
    assert await status_of(api, order) == "cancelled"
    assert await count(api, payment_events, payment_events.c.type == "refund.manual") == 1
    assert await count(api, payment_events, payment_events.c.type == "refund.due") == 0
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["sold"] == 0


async def test_outgoing_money_is_ignored(api: Api) -> None:
    """An outgoing transaction is acknowledged and touches no order."""
    s = await live_session(api)
    order = await transfer_order(api, s)
    tx = transaction(order["payment"]["reference"], order["total"], kind="out")
    assert (await send(api, tx)).json()["outcome"] == "ignored"
    assert await status_of(api, order) == "pending_payment"
