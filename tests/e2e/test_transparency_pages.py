"""The transparency pages in Chromium: two sessions selling one lot each show their own orders,
the all-sessions page shows each order once, and the in-browser check matches the ledger."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shop.money import format_weight
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.test_pages import (
    DESKTOP,
    PASSWORD,
    PHONE,
    no_sideways_scroll,
    open_page,
    shoot,
)

pytestmark = pytest.mark.browser


def auth(url: str, email: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def order(url: str, sid: int, offer: int, qty: int, phone: str) -> dict[str, Any]:
    body = {
        "offer_id": offer,
        "quantity": qty,
        "buyer": {
            "name": "Lê Thị Hạnh",
            "phone": phone,
            "address": {"province": "Hà Nội", "ward": "Phường Ba Đình", "street": "Số 1"},
        },
        "payment_method": "cod",
    }
    r = httpx.post(
        f"{url}/api/sessions/{sid}/orders",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo's session and a second one on the same lot, with orders in both."""
    cwd: Path = tmp_path_factory.mktemp("transparency")
    with Server(cwd, farmlive_env(FARMLIVE_RATE_LIMITS="off"), ("--demo",)) as server:
        url = server.url
        host = auth(url, "host@farmlive.local")
        first = httpx.get(f"{url}/api/sessions").json()[0]
        lot_id = first["lots"][0]["id"]
        before = httpx.get(f"{url}/api/ledger/totals").json()["totals"]
        second = httpx.post(
            f"{url}/api/sessions", json={"title": "Phiên thứ hai"}, headers=host
        ).json()
        # Lots are sold only in sessions their cooperative attached them to, and a session
        # goes live only once its streamer is recorded.
        coop = auth(url, "coop@farmlive.local")
        attached = httpx.post(
            f"{url}/api/sessions/{second['id']}/lots", json={"lot_id": lot_id}, headers=coop
        )
        assert attached.status_code in (200, 201, 204), attached.text
        streamer = httpx.put(
            f"{url}/api/sessions/{second['id']}/streamer",
            json={
                "full_name": "Nguyễn Văn An",
                "position": "Chủ tịch UBND xã",
                "organisation": "UBND xã Phượng Sơn",
                "id_number": "024123456789",
            },
            headers=host,
        )
        assert streamer.status_code in (200, 201), streamer.text
        offer = httpx.post(
            f"{url}/api/sessions/{second['id']}/offers",
            json={
                "lot_id": lot_id,
                "title": "Thùng 10 kg",
                "pack_grams": 10_000,
                "price": 480_000,
                "code": "V10",
            },
            headers=host,
        )
        assert offer.status_code == 201, offer.text
        started = httpx.post(f"{url}/api/sessions/{second['id']}/start", headers=host)
        assert started.status_code == 200, started.text
        offers = {o["code"]: o["id"] for o in first["offers"]}
        a = order(url, first["id"], offers["VL10"], 2, "0911000001")  # 20 kg in session 1
        order(url, first["id"], offers["VL5"], 1, "0911000002")  # 5 kg in session 1
        b = order(url, second["id"], offer.json()["id"], 5, "0911000003")  # 50 kg in session 2
        coop = auth(url, "coop@farmlive.local")
        for o in (a, b):
            assert (
                httpx.post(f"{url}/api/orders/{o['id']}/confirm", headers=coop).status_code == 200
            )
        yield {"url": url, "s1": first["id"], "s2": second["id"], "before": before}


def test_each_session_page_counts_its_own_orders(
    browser: Any, two_sessions: dict[str, Any]
) -> None:
    """Session pages show their own orders only; the all-sessions page shows each order once."""
    url, before = two_sessions["url"], two_sessions["before"]
    s1 = httpx.get(f"{url}/api/sessions/{two_sessions['s1']}/stats").json()
    s2 = httpx.get(f"{url}/api/sessions/{two_sessions['s2']}/stats").json()
    assert s2["sold_grams"] == 50_000 and s2["confirmed_grams"] == 50_000
    assert s1["sold_grams"] == before["sold_grams"] + 25_000
    for size, tag in ((PHONE, "phone"), (DESKTOP, "desktop")):
        ctx, page, watch = open_page(browser, f"{url}/minh-bach/{two_sessions['s2']}", size)
        try:
            assert page.inner_text("#t-confirmed") == "50 kg"
            assert page.inner_text("#t-sold") == "50 kg"
            assert "Hà Nội" in page.inner_text("#t-provinces")
            # The lot's stock table counts both sessions, labelled as stock.
            assert "mọi phiên" in page.inner_text("#detail")
            assert len(page.inner_text("#t-head")) == 64
            page.click("#t-check")
            page.wait_for_function(
                "() => document.querySelector('#t-check-result').textContent.startsWith('Khớp')"
            )
            assert "Lê Thị Hạnh" not in page.inner_text(
                "body"
            ) and "0911000003" not in page.inner_text("body")
            no_sideways_scroll(page)
            shoot(page, f"minh-bach-session2-{tag}")
            watch.check()
        finally:
            ctx.close()
    ctx, page, watch = open_page(browser, f"{url}/minh-bach/{two_sessions['s1']}")
    try:
        assert page.inner_text("#t-sold") == format_weight(s1["sold_grams"])
        assert page.inner_text("#t-confirmed") == format_weight(s1["confirmed_grams"])
        watch.check()
    finally:
        ctx.close()
    for size, tag in ((PHONE, "phone"), (DESKTOP, "desktop")):
        ctx, page, watch = open_page(browser, f"{url}/minh-bach", size)
        try:
            total = httpx.get(f"{url}/api/ledger/totals").json()["totals"]
            assert total["sold_grams"] == s1["sold_grams"] + s2["sold_grams"]
            assert total["sold_grams"] == before["sold_grams"] + 75_000
            assert page.locator("#l-sessions tr").count() == 2
            assert page.inner_text("#l-sold") == format_weight(total["sold_grams"])
            assert page.inner_text("#l-total") == format_weight(total["confirmed_grams"])
            no_sideways_scroll(page)
            shoot(page, f"minh-bach-all-{tag}")
            watch.check()
        finally:
            ctx.close()
