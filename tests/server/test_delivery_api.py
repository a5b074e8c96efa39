"""After the sale, end to end in process: confirm, batch ship through the fake GHN, carrier
callbacks, labels, refusals and risk, buyer messages once each."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
import zxingcpp
from sqlalchemy import func, select

from shop.adapters.sql.tables import audit_log, notifications
from shop.notify.log_notifier import LogNotifier
from shop.notify.service import NotificationService
from shop.shipping import ShippingService
from tests.conftest import Api
from tests.fakes.ghn_fake import FakeGhn
from tests.fakes.ghtk_fake import FakeGhtk
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body

SECRET = "ghn-callback-secret"
HOOK = f"/api/carriers/ghn/webhook?secret={SECRET}"


@pytest.fixture
def ghn() -> FakeGhn:
    return FakeGhn()


@pytest.fixture
def ghtk() -> FakeGhtk:
    return FakeGhtk()


@pytest.fixture
def settings(database_url: str, ghn: FakeGhn, ghtk: FakeGhtk):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-which-is-long-enough",
        ghn_token=ghn.token,
        ghn_shop_id=ghn.shop_id,
        ghn_webhook_secret=SECRET,
        ghn_api_base="https://ghn.test/shiip/public-api",
        ghtk_token=ghtk.token,
        ghtk_webhook_hash="ghtk-hash",
        ghtk_api_base="https://ghtk.test",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def app_options(ghn: FakeGhn, ghtk: FakeGhtk) -> dict[str, object]:
    return {"delivery_transports": {"ghn": ghn.transport(), "ghtk": ghtk.transport()}}


@pytest.fixture
async def workers(api: Api) -> tuple[ShippingService, NotificationService]:
    """The app's waybill and message workers, stopped: tests run them by hand."""
    services = api.app.state.services  # type: ignore[attr-defined]
    await services.shipping.stop()
    await services.notifications.stop()
    return services.shipping, services.notifications


async def confirmed_order(
    api: Api, s: dict[str, Any], phone: str, quantity: int = 1
) -> dict[str, Any]:
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], quantity, phone=phone), headers=key(),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    order = r.json()
    c = await api.client.post(f"/api/orders/{order['id']}/confirm", headers=api.auth("admin"))
    assert c.status_code == 200 and c.json()["status"] == "confirmed", c.text
    return order  # type: ignore[no-any-return]


async def status_of(api: Api, order: dict[str, Any]) -> str:
    r = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    return r.json()["status"]  # type: ignore[no-any-return]


async def count(api: Api, table: Any, *where: Any) -> int:
    async with api.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        query = select(func.count()).select_from(table).where(*where)
        return int((await conn.execute(query)).scalar_one())


async def test_confirm_ship_deliver_with_messages_once(
    api: Api, ghn: FakeGhn, workers: tuple[ShippingService, NotificationService]
) -> None:
    """Order, confirm, batch ship via GHN, callback delivered: stats, audit, labels, messages."""
    _, notify = workers
    s = await live_session(api)
    order = await confirmed_order(api, s, "0912345678", 2)
    r = await api.client.post(
        f"/api/cooperatives/{s['coop_id']}/shipments",
        json={"order_ids": [order["id"]], "carrier": "ghn"}, headers=api.auth("coop"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    [shipment] = r.json()["shipments"]
    assert shipment["state"] == "created" and shipment["tracking"].startswith("GHN")
    [sent] = ghn.orders.values()
    assert (sent["cod_amount"], sent["weight"]) == (order["total"], order["grams"])
    assert sent["client_order_code"] == order["id"]
    assert await status_of(api, order) == "shipped"
    # The labels: one page, the order code as a QR.
    pdf = await api.client.get(r.json()["labels_url"], headers=api.auth("coop"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    page = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0]
    assert [c.text for c in zxingcpp.read_barcodes(page.images[0].image.convert("L"))] == [
        order["code"]
    ]
    assert "960.000" in page.extract_text()
    # A forged callback changes nothing; the real one delivers, its repeat is a no-op.
    body = ghn.callback(shipment["tracking"], "delivered")
    bad = await api.client.post("/api/carriers/ghn/webhook?secret=nope", content=body)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_signature"
    assert await status_of(api, order) == "shipped"
    for _ in range(2):
        ok = await api.client.post(HOOK, content=body, headers={"Content-Type": "application/json"})
        assert ok.status_code == 200 and ok.json()["status"] == "delivered"
    assert await status_of(api, order) == "delivered"
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert stats["sold_grams"] == order["grams"]
    assert await count(api, audit_log, audit_log.c.object_id == order["id"],
                       audit_log.c.action.in_(["order.ship", "order.deliver"])) == 2  # fmt: skip
    await assert_invariant(api, s["lot_id"])
    # Buyer messages: one per event, sent once even when the worker runs again.
    await notify.send_due()
    await notify.send_due()
    assert isinstance(notify.notifier, LogNotifier)
    mine = [m for m in notify.notifier.sent if m.dedup_key.startswith(order["id"])]
    assert [m.event.value for m in mine] == ["received", "confirmed", "shipped", "delivered"]
    assert mine[2].params["tracking_url"].endswith(shipment["tracking"])
    assert mine[0].params["order_code"] == order["code"]


async def test_returned_writes_off_and_shows_as_risk(
    api: Api, workers: tuple[ShippingService, NotificationService]
) -> None:
    """Shipped by hand then returned: stock written off, the refusal shows on the next order."""
    s = await live_session(api)
    before = await assert_invariant(api, s["lot_id"])
    order = await confirmed_order(api, s, "0987654321")
    r = await api.client.post(
        f"/api/orders/{order['id']}/ship", json={"carrier": "Viettel Post", "tracking": "VTP123456"},
        headers=api.auth("admin"),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "shipped", r.text
    assert r.json()["shipment"]["tracking"] == "VTP123456"
    for _ in range(2):
        ret = await api.client.post(
            f"/api/orders/{order['id']}/returned", headers=api.auth("admin")
        )
        assert ret.status_code == 200 and ret.json()["status"] == "returned"
    after = await assert_invariant(api, s["lot_id"])
    # Perishable by default: the grams left the lot, nothing came back to sell.
    assert after["stock"] == before["stock"] - order["grams"]
    assert after["sold"] == 0 and after["available"] == before["available"] - order["grams"]
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert stats["sold_grams"] == 0
    nxt = await confirmed_order(api, s, "0987654321")
    other = await confirmed_order(api, s, "0911111111")
    rows = (
        await api.client.get(f"/api/cooperatives/{s['coop_id']}/orders", headers=api.auth("coop"))
    ).json()
    risk = {row["id"]: row["risk"] for row in rows}
    assert risk[nxt["id"]] == {"orders_before": 1, "returned_before": 1}
    assert risk[other["id"]] == {"orders_before": 0, "returned_before": 0}
    assert risk[order["id"]] == {"orders_before": 0, "returned_before": 0}
    ranked = (await api.client.get(f"/api/cooperatives/{s['coop_id']}/orders?sort=risk",
                                   headers=api.auth("coop"))).json()  # fmt: skip
    assert ranked[0]["id"] == nxt["id"]
    session_rows = (
        await api.client.get(f"/api/sessions/{s['sid']}/orders", headers=api.auth("admin"))
    ).json()
    assert {r["id"]: r["risk"] for r in session_rows}[nxt["id"]]["returned_before"] == 1


async def test_unconfirmed_order_cannot_ship(
    api: Api, ghn: FakeGhn, workers: tuple[ShippingService, NotificationService]
) -> None:
    """A COD order not yet confirmed by phone is refused (409) and no waybill is made."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"]), headers=key()
    )
    ship = await api.client.post(
        f"/api/orders/{r.json()['id']}/ship", json={"carrier": "ghn"}, headers=api.auth("admin")
    )
    assert ship.status_code == 409 and ship.json()["error"]["code"] == "invalid_transition"
    assert ghn.creates == 0


async def test_carrier_down_queues_the_waybill_and_retries(
    api: Api, ghn: FakeGhn, workers: tuple[ShippingService, NotificationService]
) -> None:
    """GHN down: the order stays confirmed with the job's error shown; the retry makes one waybill."""
    from datetime import UTC, datetime, timedelta

    shipping, _ = workers
    s = await live_session(api)
    order = await confirmed_order(api, s, "0912345678")
    ghn.faults.fail("/v2/shipping-order/create", "down")
    r = await api.client.post(
        f"/api/cooperatives/{s['coop_id']}/shipments",
        json={"order_ids": [order["id"]], "carrier": "ghn"}, headers=api.auth("coop"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    [job] = r.json()["shipments"]
    assert job["state"] == "queued" and job["attempts"] == 1 and "503" in job["last_error"]
    assert await status_of(api, order) == "confirmed"
    view = (
        await api.client.get(f"/api/orders/{order['id']}/shipment", headers=api.auth("admin"))
    ).json()
    assert view["shipment"]["state"] == "queued"
    assert await shipping.make_due() == 0  # not due yet: backoff
    ghn.faults.fail("/v2/shipping-order/create", "lost")  # made, answer lost: found again
    later = datetime.now(UTC) + timedelta(seconds=6)
    assert await shipping.make_due(later) == 0
    assert await shipping.make_due(later + timedelta(seconds=11)) == 1
    assert len(ghn.orders) == 1 and ghn.creates == 2  # the lost one, and its refused repeat
    assert await status_of(api, order) == "shipped"
    again = await api.client.post(
        f"/api/orders/{order['id']}/ship", json={"carrier": "ghn"}, headers=api.auth("admin")
    )
    assert again.status_code == 200 and again.json()["status"] == "shipped"
    assert len(ghn.orders) == 1


async def test_batch_refuses_another_cooperatives_orders(
    api: Api, workers: tuple[ShippingService, NotificationService]
) -> None:
    """A coop user cannot ship another cooperative's orders, nor an unknown order id."""
    s = await live_session(api)
    order = await confirmed_order(api, s, "0912345678")
    other_coop = (await api.client.get("/api/cooperatives")).json()[1]["id"]
    r = await api.client.post(
        f"/api/cooperatives/{other_coop}/shipments",
        json={"order_ids": [order["id"]], "carrier": "ghn"}, headers=api.auth("admin"),
    )  # fmt: skip
    assert r.status_code == 422
    r = await api.client.post(
        f"/api/cooperatives/{s['coop_id']}/shipments",
        json={"order_ids": ["nope"], "carrier": "ghn"}, headers=api.auth("coop"),
    )  # fmt: skip
    assert r.status_code == 404
    assert await count(api, notifications, notifications.c.event == "shipped") == 0


async def test_ghtk_ship_and_form_callback_returned(
    api: Api, ghtk: FakeGhtk, workers: tuple[ShippingService, NotificationService]
) -> None:
    """One order through GHTK; its form-encoded callback (status 21) returns it; a later
    "delivered" for the returned parcel is acknowledged and changes nothing."""
    from urllib.parse import urlencode

    s = await live_session(api)
    order = await confirmed_order(api, s, "0922333444")
    r = await api.client.post(
        f"/api/orders/{order['id']}/ship", json={"carrier": "ghtk"}, headers=api.auth("admin")
    )
    assert r.status_code == 200 and r.json()["status"] == "shipped", r.text
    label = r.json()["shipment"]["tracking"]
    assert ghtk.orders[label]["pick_money"] == order["total"]
    assert ghtk.orders[label]["total_weight"] == order["grams"] / 1000
    carriers = (await api.client.get("/api/carriers")).json()["carriers"]
    assert carriers == ["ghn", "ghtk"]
    form = {"label_id": label, "partner_id": order["id"], "status_id": "21", "action_time": "t"}
    hook = "/api/carriers/ghtk/webhook"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    bad = await api.client.post(f"{hook}?hash=nope", content=urlencode(form), headers=headers)
    assert bad.status_code == 400
    ok = await api.client.post(f"{hook}?hash=ghtk-hash", content=urlencode(form), headers=headers)
    assert ok.status_code == 200 and ok.json()["status"] == "returned", ok.text
    late = await api.client.post(
        f"{hook}?hash=ghtk-hash",
        content=ghtk.callback(label, 5),
        headers={"Content-Type": "application/json"},
    )
    assert late.status_code == 200 and late.json()["status"] == "returned"
    assert await status_of(api, order) == "returned"
