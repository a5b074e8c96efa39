"""After the sale against a real `farmlive serve --demo` and a fake GHN on loopback: order,
confirm, batch ship from /coop in Chromium, GHN's "delivered" callback, stats, labels,
buyer messages logged once each; a refused parcel written off and shown as risk; a bank
transfer matched from SePay's webhook, five concurrent copies making one transition."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pypdf
import pytest
import zxingcpp

from tests.e2e.chromium import SHOTS
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.test_pages import signed_in
from tests.fakes.ghn_fake import FakeGhn
from tests.fakes.http_server import FakeHttpServer
from tests.fakes.sepay_fake import delivery, transaction

PASSWORD = "farmlive-demo"
SECRET = "ghn-callback-secret"
SEPAY_KEY = "sepay-e2e-key"


@dataclass
class Sale:
    url: str
    sid: int
    coop_id: int
    lot_id: int
    offers: dict[str, int]
    ghn: FakeGhn
    server: Server

    def token(self, email: str = "coop@farmlive.local") -> str:
        r = httpx.post(f"{self.url}/api/auth/token", data={"username": email, "password": PASSWORD})
        return str(r.json()["access_token"])

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def order(self, phone: str, method: str = "cod", code: str = "VL10") -> dict[str, Any]:
        body = {"offer_id": self.offers[code], "quantity": 1, "payment_method": method,
                "buyer": {"name": "Chị Lan", "phone": phone,
                          "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": "Thôn 2"}}}  # fmt: skip
        r = httpx.post(f"{self.url}/api/sessions/{self.sid}/orders", json=body,
                       headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
        assert r.status_code == 201, r.text
        return dict(r.json())

    def confirm(self, order: dict[str, Any]) -> None:
        r = httpx.post(f"{self.url}/api/orders/{order['id']}/confirm", headers=self.auth())
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text

    def status(self, order: dict[str, Any]) -> str:
        r = httpx.get(f"{self.url}/api/orders/{order['id']}", params={"token": order["token"]})
        return str(r.json()["status"])


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def sale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sale]:
    ghn = FakeGhn()
    fake = FakeHttpServer(ghn.handle).start()
    env = farmlive_env(
        FARMLIVE_RATE_LIMITS="off",
        FARMLIVE_GHN_TOKEN=ghn.token,
        FARMLIVE_GHN_SHOP_ID=str(ghn.shop_id),
        FARMLIVE_GHN_WEBHOOK_SECRET=SECRET,
        FARMLIVE_GHN_API_BASE=f"{fake.url}/shiip/public-api",
        FARMLIVE_SEPAY_API_KEY=SEPAY_KEY,
    )
    # A loaded machine takes a while to migrate, build the demo and import aiortc.
    server = Server(tmp_path_factory.mktemp("after"), env, ("--demo",))
    try:
        server.start(timeout=120)
        session = httpx.get(f"{server.url}/api/sessions").json()[0]
        detail = httpx.get(f"{server.url}/api/sessions/{session['id']}").json()
        yield Sale(
            url=server.url,
            sid=session["id"],
            coop_id=httpx.get(f"{server.url}/api/cooperatives").json()[0]["id"],
            lot_id=detail["lots"][0]["id"],
            offers={o["code"]: o["id"] for o in detail["offers"]},
            ghn=ghn,
            server=server,
        )
    finally:
        server.stop()
        fake.stop()


def messages_of(sale: Sale, order_id: str) -> list[str]:
    return re.findall(rf"message {re.escape(order_id)}:(\w+) to", sale.server.output())


def test_ship_deliver_refuse_through_real_processes(sale: Sale) -> None:
    """Batch ship through the fake GHN, its callback delivers; a refusal shows as risk."""
    a = sale.order("0933444555")
    sale.confirm(a)
    r = httpx.post(f"{sale.url}/api/cooperatives/{sale.coop_id}/shipments",
                   json={"order_ids": [a["id"]], "carrier": "ghn"}, headers=sale.auth())  # fmt: skip
    assert r.status_code == 201, r.text
    [shipment] = r.json()["shipments"]
    assert shipment["state"] == "created" and sale.status(a) == "shipped"
    [waybill] = sale.ghn.orders.values()
    assert (waybill["cod_amount"], waybill["weight"]) == (a["total"], a["grams"])
    labels = httpx.get(f"{sale.url}{r.json()['labels_url']}", headers=sale.auth())
    page = pypdf.PdfReader(io.BytesIO(labels.content)).pages[0]
    assert [c.text for c in zxingcpp.read_barcodes(page.images[0].image.convert("L"))] == [
        a["code"]
    ]
    body = sale.ghn.callback(shipment["tracking"], "delivered")
    hook = f"{sale.url}/api/carriers/ghn/webhook"
    assert httpx.post(hook, params={"secret": "wrong"}, content=body).status_code == 400
    for _ in range(2):
        ok = httpx.post(hook, params={"secret": SECRET}, content=body)
        assert ok.status_code == 200 and ok.json()["status"] == "delivered", ok.text
    stats = httpx.get(f"{sale.url}/api/sessions/{sale.sid}/stats").json()
    assert stats["sold_grams"] >= a["grams"]
    wait_for(lambda: len(messages_of(sale, a["id"])) >= 4)
    time.sleep(1.5)  # one more worker round: nothing may be sent twice
    assert messages_of(sale, a["id"]) == ["received", "confirmed", "shipped", "delivered"]
    # Refused at the door: written off, and the next order from that phone shows the risk.
    lot_before = httpx.get(f"{sale.url}/api/sessions/{sale.sid}").json()["lots"][0]
    b = sale.order("0966777888")
    sale.confirm(b)
    r = httpx.post(f"{sale.url}/api/orders/{b['id']}/ship",
                   json={"carrier": "Viettel Post", "tracking": "VTP998877"}, headers=sale.auth())  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "shipped", r.text
    r = httpx.post(f"{sale.url}/api/orders/{b['id']}/returned", headers=sale.auth())
    assert r.status_code == 200 and r.json()["status"] == "returned"
    lot_after = httpx.get(f"{sale.url}/api/sessions/{sale.sid}").json()["lots"][0]
    assert lot_after["stock_grams"] == lot_before["stock_grams"] - b["grams"]
    assert lot_after["available_grams"] == lot_before["available_grams"] - b["grams"]
    c = sale.order("0966777888")
    rows = httpx.get(
        f"{sale.url}/api/cooperatives/{sale.coop_id}/orders", headers=sale.auth()
    ).json()
    assert {o["id"]: o["risk"] for o in rows}[c["id"]] == {"orders_before": 1, "returned_before": 1}


def test_bank_webhook_five_concurrent_copies_one_transition(sale: Sale) -> None:
    """SePay delivers one transfer five times at once: paid once, one audit entry."""
    order = sale.order("0977000111", method="bank_transfer", code="VL5")
    body, headers = delivery(
        transaction(f"CK {order['payment']['reference']}", order["total"]), SEPAY_KEY
    )
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: httpx.post(f"{sale.url}/api/payments/sepay/webhook",
                                                    content=body, headers=headers), range(5)))  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["outcome"] for a in answers} == {"paid"}
    assert sale.status(order) == "paid"
    wait_for(lambda: len(messages_of(sale, order["id"])) >= 2)
    assert messages_of(sale, order["id"]) == ["received", "confirmed"]


@pytest.mark.browser
def test_coop_ships_from_the_dashboard(sale: Sale, browser: Any) -> None:
    """In Chromium the coop ticks a confirmed order, makes its waybill and sees the risk chip."""
    risky = sale.order("0966777888")  # the phone that refused a parcel above
    sale.confirm(risky)
    fresh = sale.order("0900111222")
    sale.confirm(fresh)
    context, page, watch = signed_in(
        browser, f"{sale.url}/coop", "coop@farmlive.local", viewport={"width": 1280, "height": 900}
    )
    try:
        row = page.locator(f"#ship-ready li[data-id='{risky['id']}']")
        assert "Đã từ chối 1 lần" in row.inner_text()
        first = page.locator("#ship-ready li").first
        assert first.get_attribute("data-id") == risky["id"]  # risky buyers first
        page.locator(f"#ship-ready li[data-id='{fresh['id']}'] input").check()
        page.click("#ship-make")
        page.wait_for_selector("#ship-labels")
        assert "Đã tạo 1 vận đơn" in page.inner_text("#ship-note")
        wait_for(lambda: sale.status(fresh) == "shipped")
        page.wait_for_selector(f"#ship-on-way li[data-id='{fresh['id']}']")
        page.locator("#shipping").screenshot(path=str(SHOTS / "shipping-desktop.png"))
        page.set_viewport_size({"width": 360, "height": 740})
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
        page.locator("#shipping").screenshot(path=str(SHOTS / "shipping-phone.png"))
        assert watch.errors == [], watch.errors  # uncaught exceptions, console errors
    finally:
        context.close()
