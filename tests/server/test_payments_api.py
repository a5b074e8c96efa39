"""Cash on delivery and VietQR bank transfer through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import Api
from tests.server.orders_helpers import (
    assert_invariant,
    key,
    live_session,
    order_body,
    ready_to_sell,
)
from tests.vietqr_reader import crc_ok, decode_qr, transfer


async def test_cod_confirmed_twice_sells_once_and_cancel_restocks(api: Api) -> None:
    """A COD order sells at once; confirming twice is one sale; cancelling gives the stock back."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 3), headers=key()
    )
    assert r.status_code == 201 and r.json()["status"] == "placed"
    order = r.json()
    assert order["payment"] == {
        "method": "cod",
        "amount": 750_000,
        "currency": "VND",
        "reference": "FL" + order["id"].replace("-", "")[:10].upper(),
    }
    for _ in range(2):
        c = await api.client.post(f"/api/orders/{order['id']}/confirm", headers=api.auth("host"))
        assert c.status_code == 200 and c.json()["status"] == "confirmed"
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (15_000, 0)
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert (stats["sold_grams"], stats["revenue"]) == (15_000, 750_000)
    c = await api.client.post(f"/api/orders/{order['id']}/cancel", headers=api.auth("coop"))
    assert c.status_code == 200 and c.json()["status"] == "cancelled"
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["available"]) == (0, f["stock"])


async def test_bank_transfer_shows_a_vietqr_that_decodes_to_the_order(api: Api) -> None:
    """The 201 carries the cooperative's account and a QR image that decodes to account, amount, note."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], 2, method="bank_transfer"),
        headers=key(),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    pay = order["payment"]
    reference = "FL" + order["id"].replace("-", "")[:10].upper()
    assert {k: pay[k] for k in ("method", "amount", "currency", "reference")} == {
        "method": "bank_transfer",
        "amount": 960_000,
        "currency": "VND",
        "reference": reference,
    }
    assert (pay["bank_bin"], pay["bank_account"], pay["account_name"]) == (
        "970436",
        "0011001234567",
        "HTX THU NGHIEM",
    )
    assert pay["qr_url"] == f"/api/orders/{order['id']}/vietqr.png?token={order['token']}"
    image = await api.client.get(pay["qr_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    [payload] = decode_qr(image.content)
    assert payload == pay["vietqr"] and crc_ok(payload)
    fields = transfer(payload)
    assert (fields["bin"], fields["account"], fields["amount"], fields["purpose"]) == (
        "970436",
        "0011001234567",
        "960000",
        reference,
    )
    assert (fields["currency"], fields["country"], fields["initiation"]) == ("704", "VN", "12")
    mine = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    assert mine.json()["payment"] == pay
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 20_000
    # Staff see the money on the statement and confirm: the QR is no longer offered.
    c = await api.client.post(f"/api/orders/{order['id']}/confirm", headers=api.auth("coop"))
    assert c.status_code == 200 and c.json()["status"] == "paid"
    assert "qr_url" not in c.json()["payment"]
    assert (await api.client.get(pay["qr_url"])).status_code == 404
    f = await assert_invariant(api, s["lot_id"])
    assert (f["sold"], f["held"]) == (20_000, 0)


async def test_vietqr_image_is_for_its_buyer_only(api: Api) -> None:
    """A wrong token, or a COD order, gets 404 from the QR endpoint."""
    s = await live_session(api)
    url = f"/api/sessions/{s['sid']}/orders"
    bank = await api.client.post(
        url, json=order_body(s["offers"]["VL2"], method="bank_transfer"), headers=key()
    )
    cod = await api.client.post(url, json=order_body(s["offers"]["VL2"]), headers=key())
    wrong = await api.client.get(
        f"/api/orders/{bank.json()['id']}/vietqr.png", params={"token": "0" * 48}
    )
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "not_found"
    no_qr = await api.client.get(
        f"/api/orders/{cod.json()['id']}/vietqr.png", params={"token": cod.json()["token"]}
    )
    assert no_qr.status_code == 404


async def test_bank_transfer_needs_a_cooperative_account(api: Api) -> None:
    """A cooperative without a bank account cannot take transfers: 422, nothing held."""
    cooperatives = (await api.client.get("/api/cooperatives")).json()
    other = next(c for c in cooperatives if c["name"] == "HTX Khác")
    lot = await api.client.post(
        "/api/lots",
        json={"cooperative_id": other["id"], "product": "Nhãn", "stock_grams": 100_000},
        headers=api.auth("admin"),
    )
    sid = (
        await api.client.post("/api/sessions", json={"title": "Nhãn"}, headers=api.auth("host"))
    ).json()["id"]
    await ready_to_sell(api, sid, lot.json()["id"], attach_as="admin")
    offer = await api.client.post(
        f"/api/sessions/{sid}/offers",
        json={"lot_id": lot.json()["id"], "title": "Thùng 5 kg", "pack_grams": 5000,
              "price": 200_000, "code": "NH5"},
        headers=api.auth("host"),
    )  # fmt: skip
    await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    r = await api.client.post(
        f"/api/sessions/{sid}/orders",
        json=order_body(offer.json()["id"], method="bank_transfer"),
        headers=key(),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "payment_refused"
    f = await assert_invariant(api, lot.json()["id"])
    assert (f["held"], f["sold"]) == (0, 0)


async def test_stripe_is_off_without_a_key(api: Api) -> None:
    """Without FARMLIVE_STRIPE_SECRET_KEY card orders are refused and the webhook is 404."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL2"], method="stripe"),
        headers=key(),
    )
    assert r.status_code == 422
    hook = await api.client.post(
        "/api/payments/stripe/webhook", content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"}
    )
    assert hook.status_code == 404
    assert (await assert_invariant(api, s["lot_id"]))["held"] == 0
