"""Perishable lots: confirmed goods that come back are written off; staff restock by hand."""

from __future__ import annotations

from sqlalchemy import select

from shop.adapters.sql.tables import audit_log
from tests.conftest import Api
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body


async def place_confirm_cancel(api: Api, sid: int, offer_id: int) -> None:
    """A COD order of 2 x 5 kg, confirmed by phone, then cancelled (refused at the door)."""
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offer_id, 2), headers=key()
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    admin = api.auth("admin")
    assert (await api.client.post(f"/api/orders/{order_id}/confirm", headers=admin)).is_success
    cancelled = await api.client.post(f"/api/orders/{order_id}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_a_cancelled_confirmed_order_of_a_perishable_lot_is_written_off(api: Api) -> None:
    """Finding 10: the 10 kg of a confirmed-then-cancelled COD order are not back on sale."""
    s = await live_session(api, stock_grams=100_000)
    lot = (await api.client.get(f"/api/lots/{s['lot_id']}")).json()
    assert lot["perishable"] is True  # the default
    await place_confirm_cancel(api, s["sid"], s["offers"]["VL5"])
    figures = await assert_invariant(api, s["lot_id"])
    assert figures == {"stock": 90_000, "sold": 0, "held": 0, "available": 90_000}


async def test_a_cancelled_unconfirmed_order_goes_back_on_sale(api: Api) -> None:
    """A COD order cancelled before anyone confirmed it never left: its grams are released."""
    s = await live_session(api, stock_grams=100_000)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 2), headers=key()
    )
    await api.client.post(f"/api/orders/{r.json()['id']}/cancel", headers=api.auth("admin"))
    assert (await assert_invariant(api, s["lot_id"]))["available"] == 100_000


async def test_a_non_perishable_lot_puts_cancelled_confirmed_goods_back(api: Api) -> None:
    """A lot created with perishable=false restocks what comes back."""
    s = await live_session(api, stock_grams=100_000)
    coop_id = s["coop_id"]
    lot = await api.client.post(
        "/api/lots",
        json={
            "cooperative_id": coop_id,
            "product": "Vải sấy khô",
            "stock_grams": 50_000,
            "perishable": False,
        },
        headers=api.auth("coop"),
    )
    assert lot.status_code == 201 and lot.json()["perishable"] is False
    attached = await api.client.post(
        f"/api/sessions/{s['sid']}/lots",
        json={"lot_id": lot.json()["id"]},
        headers=api.auth("coop"),
    )
    assert attached.status_code == 201, attached.text
    offer = await api.client.post(
        f"/api/sessions/{s['sid']}/offers",
        json={"lot_id": lot.json()["id"], "title": "Túi 5 kg", "pack_grams": 5000, "price": 1000},
        headers=api.auth("host"),
    )
    assert offer.status_code == 201, offer.text
    await place_confirm_cancel(api, s["sid"], offer.json()["id"])
    figures = await assert_invariant(api, lot.json()["id"])
    assert figures == {"stock": 50_000, "sold": 0, "held": 0, "available": 50_000}


async def test_staff_restock_by_hand_with_an_audit_entry(api: Api) -> None:
    """POST /api/lots/{id}/restock adds grams to the lot (SQL and gate) and audits why."""
    s = await live_session(api, stock_grams=100_000)
    await place_confirm_cancel(api, s["sid"], s["offers"]["VL5"])
    url = f"/api/lots/{s['lot_id']}/restock"
    body = {"grams": 10_000, "reason": "kiểm lại: hàng còn tốt"}
    assert (await api.client.post(url, json=body)).status_code == 401
    assert (await api.client.post(url, json=body, headers=api.auth("coop2"))).status_code == 403
    assert (await api.client.post(url, json=body, headers=api.auth("host"))).status_code == 403
    bad = await api.client.post(url, json={"grams": 0, "reason": "x"}, headers=api.auth("coop"))
    assert bad.status_code == 422
    r = await api.client.post(url, json=body, headers=api.auth("coop"))
    assert r.status_code == 200 and r.json()["stock_grams"] == 100_000
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["available"] == 100_000
    async with api.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (
            await conn.execute(
                select(audit_log.c.detail).where(audit_log.c.action == "lot.restock")
            )
        ).all()
    assert [row.detail["reason"] for row in rows] == ["kiểm lại: hàng còn tốt"]
    order = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL10"], 10), headers=key()
    )
    assert order.status_code == 201  # all 100 kg can be sold again
