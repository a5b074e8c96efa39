"""Placing, replaying, confirming and cancelling orders through the HTTP API."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Api
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body, settle


async def test_cod_order_is_sold_at_once(api: Api) -> None:
    """A COD order answers 201 `placed`, counts as sold in SQL, the gate and the stats."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 2), headers=key()
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert (
        order["status"],
        order["quantity"],
        order["grams"],
        order["total"],
        order["currency"],
    ) == (
        "placed",
        2,
        10_000,
        500_000,
        "VND",
    )
    assert order["buyer"]["phone"] == "0912•••678"
    assert order["token"] and order["payment"]["method"] == "cod"
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["sold"] == 10_000 and figures["held"] == 0
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert (stats["sold_grams"], stats["orders_count"], stats["revenue"]) == (10_000, 1, 500_000)
    assert stats["cooperatives"] == [
        {
            "cooperative_id": s["coop_id"],
            "orders_count": 1,
            "sold_grams": 10_000,
            "confirmed_grams": 0,
            "unconfirmed_grams": 10_000,
            "revenue": 500_000,
        }
    ]
    mine = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    assert mine.status_code == 200 and mine.json()["id"] == order["id"]
    wrong = await api.client.get(f"/api/orders/{order['id']}", params={"token": "0" * 48})
    assert wrong.status_code == 404


async def test_bank_transfer_holds_until_confirmed(api: Api) -> None:
    """A transfer order holds stock; confirming twice sells once; cancelling a sold COD restocks."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], 3, method="bank_transfer"),
        headers=key(),
    )
    assert r.status_code == 201 and r.json()["status"] == "pending_payment"
    assert r.json()["hold_expires_at"] is not None
    oid = r.json()["id"]
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 30_000
    for _ in range(2):
        c = await api.client.post(f"/api/orders/{oid}/confirm", headers=api.auth("host"))
        assert c.status_code == 200 and c.json()["status"] == "paid"
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (30_000, 0)
    cod = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL2"], 1), headers=key()
    )
    for _ in range(2):
        c = await api.client.post(
            f"/api/orders/{cod.json()['id']}/cancel", headers=api.auth("coop")
        )
        assert c.status_code == 200 and c.json()["status"] == "cancelled"
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (30_000, 0)
    again = await api.client.post(
        f"/api/orders/{cod.json()['id']}/confirm", headers=api.auth("host")
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    paid_cancel = await api.client.post(f"/api/orders/{oid}/cancel", headers=api.auth("host"))
    assert paid_cancel.status_code == 409


async def test_idempotency_key_replays_and_refuses_reuse(api: Api) -> None:
    """Same key and body replays the order; another body with that key is 422; 20 concurrent retries make one order."""
    s = await live_session(api)
    headers = key()
    body = order_body(s["offers"]["VL5"], 1)
    first = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    again = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert (
        again.json()["id"] == first.json()["id"] and again.json()["token"] == first.json()["token"]
    )
    other = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 2), headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    burst_headers = key()
    burst = await asyncio.gather(
        *[
            api.client.post(
                f"/api/sessions/{s['sid']}/orders",
                json=order_body(s["offers"]["VL2"], 1),
                headers=burst_headers,
            )
            for _ in range(20)
        ]
    )
    assert sorted({r.status_code for r in burst}) in ([200, 201], [201])
    assert sum(r.status_code == 201 for r in burst) >= 1
    assert len({r.json()["id"] for r in burst}) == 1
    f = await assert_invariant(api, s["lot_id"])
    assert f["sold"] == 5_000 + 2_000


async def test_last_boxes_go_to_exactly_as_many_buyers(api: Api) -> None:
    """With 30 boxes left, 60 concurrent buyers: exactly 30 get 201, 30 get 409 sold_out."""
    api.app.state.settings.rate_limits = False  # 60 buyers, but one test client address
    s = await live_session(api, stock_grams=150_000)
    results = await asyncio.gather(
        *[
            api.client.post(
                f"/api/sessions/{s['sid']}/orders",
                json=order_body(s["offers"]["VL5"], 1, phone=f"09{i:08d}"),
                headers=key(),
            )
            for i in range(60)
        ]
    )
    codes = [r.status_code for r in results]
    assert codes.count(201) == 30 and codes.count(409) == 30
    assert all(r.json()["error"]["code"] == "sold_out" for r in results if r.status_code == 409)
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["available"]) == (150_000, 0)


async def test_session_not_live_and_caps(api: Api) -> None:
    """Orders on an ended session get 409; per-order and per-buyer caps are enforced."""
    s = await live_session(api, max_grams_per_buyer=20_000)
    url = f"/api/sessions/{s['sid']}/orders"
    over = await api.client.post(url, json=order_body(s["offers"]["VL2"], 51), headers=key())
    assert over.status_code == 422
    ok = await api.client.post(url, json=order_body(s["offers"]["VL10"], 2), headers=key())
    assert ok.status_code == 201
    capped = await api.client.post(url, json=order_body(s["offers"]["VL2"], 1), headers=key())
    assert capped.status_code == 409 and capped.json()["error"]["code"] == "buyer_limit"
    other_buyer = await api.client.post(
        url, json=order_body(s["offers"]["VL2"], 1, phone="0987654321"), headers=key()
    )
    assert other_buyer.status_code == 201
    await api.client.post(f"/api/sessions/{s['sid']}/end", headers=api.auth("host"))
    closed = await api.client.post(
        url, json=order_body(s["offers"]["VL2"], 1, phone="0355555555"), headers=key()
    )
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "session_not_live"
    await assert_invariant(api, s["lot_id"])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(quantity=0),
        lambda b: b.update(quantity=-1),
        lambda b: b.update(quantity=1.5),
        lambda b: b.update(quantity="2"),
        lambda b: b.update(quantity=10**12),
        lambda b: b.update(quantity=True),
        lambda b: b.pop("buyer"),
        lambda b: b.pop("offer_id"),
        lambda b: b.update(offer_id=999_999),
        lambda b: b.update(price=1),
        lambda b: b.update(status="paid"),
        lambda b: b.update(total=0),
        lambda b: b["buyer"].update(name="Hoa\x00"),
        lambda b: b["buyer"].update(name="Hoa\u202egnp.exe"),
        lambda b: b["buyer"].update(name="x" * 5000),
        lambda b: b["buyer"].update(phone="12345"),
        lambda b: b["buyer"].update(phone="0112345678"),
        lambda b: b["buyer"]["address"].update(province="Atlantis"),
        lambda b: b.update(payment_method="bitcoin"),
        lambda b: b["buyer"].update(extra="x"),
    ],
)
async def test_malformed_orders_change_nothing(api: Api, mutate) -> None:
    """Bad quantities, missing fields, unknown offers, client prices, NUL/RTL names: 4xx, no change."""
    s = await live_session(api)
    body = order_body(s["offers"]["VL5"], 1)
    mutate(body)
    r = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=key())
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]["code"]
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (0, 0)
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert stats["orders_count"] == 0


async def test_other_sessions_offer_and_bad_headers(api: Api) -> None:
    """Another session's offer, a missing Idempotency-Key, a 1 MB body: 4xx, nothing changes."""
    a = await live_session(api)
    b = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{a['sid']}/orders", json=order_body(b["offers"]["VL5"]), headers=key()
    )
    assert r.status_code == 422
    r = await api.client.post(
        f"/api/sessions/{a['sid']}/orders", json=order_body(a["offers"]["VL5"])
    )
    assert r.status_code == 422
    big = order_body(a["offers"]["VL5"])
    big["buyer"]["name"] = "x" * 1_000_000
    r = await api.client.post(f"/api/sessions/{a['sid']}/orders", json=big, headers=key())
    assert r.status_code in (413, 422)
    r = await api.client.post(
        "/api/sessions/999999/orders", json=order_body(a["offers"]["VL5"]), headers=key()
    )
    assert r.status_code == 404
    for s in (a, b):
        assert (await assert_invariant(api, s["lot_id"]))["sold"] == 0


async def test_expired_hold_then_late_confirm(api: Api) -> None:
    """An expired transfer hold releases its stock; a late confirm gets stock back if any is left."""
    s = await live_session(api, stock_grams=10_000)
    services = api.app.state.services
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], 1, method="bank_transfer"),
        headers=key(),
    )
    oid = r.json()["id"]
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 10_000
    expired = await services.orders.store.expire_due(datetime.now(UTC) + timedelta(hours=1))
    assert expired == [oid]
    f = await assert_invariant(api, s["lot_id"])
    assert (f["held"], f["available"]) == (0, 10_000)
    c = await api.client.post(f"/api/orders/{oid}/confirm", headers=api.auth("admin"))
    assert c.status_code == 200 and c.json()["status"] == "paid"
    assert (await assert_invariant(api, s["lot_id"]))["sold"] == 10_000


async def test_confirm_racing_expiry_keeps_the_invariant(api: Api) -> None:
    """Confirms racing the hold sweeper end in one consistent state, never an oversell."""
    s = await live_session(api, stock_grams=100_000)
    services = api.app.state.services
    ids = []
    for i in range(10):
        r = await api.client.post(
            f"/api/sessions/{s['sid']}/orders",
            json=order_body(s["offers"]["VL10"], 1, phone=f"09{i:08d}", method="bank_transfer"),
            headers=key(),
        )
        ids.append(r.json()["id"])
    later = datetime.now(UTC) + timedelta(hours=1)
    await asyncio.gather(
        services.orders.store.expire_due(later),
        *[api.client.post(f"/api/orders/{oid}/confirm", headers=api.auth("admin")) for oid in ids],
        services.orders.store.expire_due(later),
    )
    await settle(api)
    f = await assert_invariant(api, s["lot_id"])
    statuses = [(await services.orders.store.get(oid)).status.value for oid in ids]
    assert f["sold"] == 10_000 * statuses.count("paid")
    assert set(statuses) <= {"paid", "expired"}


async def test_cooperative_csv_export(api: Api) -> None:
    """The cooperative exports its orders as CSV; another cooperative cannot."""
    s = await live_session(api)
    body = order_body(s["offers"]["VL5"], 2)
    body["buyer"]["name"] = '=HYPERLINK("x")'
    await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=key())
    r = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders.csv", headers=api.auth("coop")
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Mã đơn" and len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["Số lượng"], record["Khối lượng (kg)"], record["Thành tiền (₫)"]) == (
        "2",
        "10",
        "500000",
    )
    assert record["Trạng thái"] == "Chờ xác nhận"
    assert record["Người nhận"].startswith("'=")
    assert record["Số điện thoại"] == '="0912345678"' and record["Tỉnh/Thành phố"]
    denied = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders.csv", headers=api.auth("coop2")
    )
    assert denied.status_code == 403
    denied = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders.csv", headers=api.auth("host")
    )
    assert denied.status_code == 403


async def test_staff_order_actions_need_the_right_person(api: Api) -> None:
    """Another host, another cooperative and anonymous callers cannot confirm or cancel."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"]), headers=key()
    )
    oid = r.json()["id"]
    assert (await api.client.post(f"/api/orders/{oid}/confirm")).status_code == 401
    assert (
        await api.client.post(f"/api/orders/{oid}/confirm", headers=api.auth("host2"))
    ).status_code == 403
    assert (
        await api.client.post(f"/api/orders/{oid}/cancel", headers=api.auth("coop2"))
    ).status_code == 403
    assert (
        await api.client.post("/api/orders/nope/cancel", headers=api.auth("admin"))
    ).status_code == 404
    assert (await assert_invariant(api, s["lot_id"]))["sold"] == 5_000


async def test_replays_after_cancel_sellout_or_end_return_the_order(api: Api) -> None:
    """A retry after its order was cancelled, the lot sold out or the sale ended replays it and holds nothing."""
    s = await live_session(api, stock_grams=10_000)
    url = f"/api/sessions/{s['sid']}/orders"
    cancelled_key, sold_key = key(), key()
    first = await api.client.post(
        url, json=order_body(s["offers"]["VL5"], 1), headers=cancelled_key
    )
    await api.client.post(f"/api/orders/{first.json()['id']}/cancel", headers=api.auth("host"))
    replay = await api.client.post(
        url, json=order_body(s["offers"]["VL5"], 1), headers=cancelled_key
    )
    assert replay.status_code == 200 and replay.json()["status"] == "cancelled"
    assert (await assert_invariant(api, s["lot_id"]))["available"] == 10_000
    sold = await api.client.post(
        url, json=order_body(s["offers"]["VL10"], 1, phone="0987000111"), headers=sold_key
    )
    assert sold.status_code == 201
    again = await api.client.post(
        url, json=order_body(s["offers"]["VL10"], 1, phone="0987000111"), headers=sold_key
    )
    assert again.status_code == 200 and again.json()["id"] == sold.json()["id"]
    await api.client.post(f"/api/sessions/{s['sid']}/end", headers=api.auth("host"))
    late = await api.client.post(
        url, json=order_body(s["offers"]["VL10"], 1, phone="0987000111"), headers=sold_key
    )
    assert late.status_code == 200 and late.json()["id"] == sold.json()["id"]
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"], f["available"]) == (10_000, 0, 0)


async def test_another_instance_starting_keeps_holds_in_flight(api: Api) -> None:
    """A rebuild while the store's epoch is valid adopts it: holds not yet in SQL survive."""
    s = await live_session(api, stock_grams=50_000)
    services = api.app.state.services
    gate = services.gate
    # A hold reserved by a request whose SQL commit has not happened yet.
    await gate.reserve(
        s["lot_id"],
        "in-flight-order",
        10_000,
        buyer="0912000111",
        buyer_cap_grams=None,
        expires_at=None,
    )
    await services.orders.rebuild_all()  # what a second instance does when it starts
    state = await gate.snapshot(s["lot_id"])
    assert (state.held_grams, state.available_grams) == (10_000, 40_000)
    await gate.release(s["lot_id"], "in-flight-order")
    await assert_invariant(api, s["lot_id"])
