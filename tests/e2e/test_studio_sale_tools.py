"""The studio's sale tools in a real Chromium: change an offer's price, keep selling after the end."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.axe import assert_accessible
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.shop_client import Sale, order_body, set_up_sale, token
from tests.e2e.test_pages import (
    DESKTOP,
    PHONE,
    SHOTS,
    no_sideways_scroll,
    signed_in,
)

pytestmark = pytest.mark.browser

SALE_CARD = "section[aria-labelledby='sale-title']"


def price_of(url: str, sale: Sale) -> int:
    offers = httpx.get(f"{url}/api/sessions/{sale.sid}").json()["offers"]
    return int(next(o["price"] for o in offers if o["id"] == sale.offer_id))


def after_end(url: str, sid: int) -> bool:
    return bool(httpx.get(f"{url}/api/sessions/{sid}").json()["sale_after_end"])


def order_status(url: str, sale: Sale, i: int) -> int:
    r = httpx.post(
        f"{url}/api/sessions/{sale.sid}/orders",
        json=order_body(sale.offer_id, i),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    return r.status_code


def both_sizes(page: Any, name: str) -> None:
    """The sale card at 1280 and 360 px, checked by axe and looked at in the screenshots."""
    for size, label in ((DESKTOP, "1280"), (PHONE, "360")):
        page.set_viewport_size(size)
        if size is PHONE:
            no_sideways_scroll(page)
        assert_accessible(page, f"studio {name} {label}")
        page.locator(SALE_CARD).screenshot(path=str(SHOTS / f"studio-{name}-{label}.png"))
    page.set_viewport_size(DESKTOP)


def test_host_changes_a_price_and_keeps_the_sale_open_after_the_end(
    browser: Any, tmp_path: Path
) -> None:
    """Bad prices change nothing; a good one is the API's; the after-end switch decides orders."""
    with Server(tmp_path, farmlive_env(FARMLIVE_RATE_LIMITS="off"), ("--demo",)) as server:
        url = server.url
        sale = set_up_sale(url, boxes=20)
        context, page, watch = signed_in(browser, f"{url}/studio/{sale.sid}", "host@farmlive.local")
        try:
            row = page.locator("#offers li").first
            assert "250.000 ₫" in row.inner_text()
            row.locator(".price-toggle").click()
            form = row.locator(".price-form")
            form.wait_for()
            assert "Giá hiện tại: 250.000 ₫" in form.inner_text()
            # An order rebuilds the offer list: what the host is typing stays, focused.
            form.locator("input").fill("24")
            assert order_status(url, sale, 0) == 201
            page.wait_for_selector("#lots li:has-text('còn 95 kg')")
            assert form.locator("input").input_value() == "24"
            assert page.evaluate("() => document.activeElement.id") == f"price-new-{sale.offer_id}"
            # Letters: refused on the page, nothing sent, nothing changed.
            form.locator("input").fill("24o000")
            form.locator("button[type=submit]").click()
            form.locator(".note[data-kind='error']").wait_for()
            assert "chỉ nhập chữ số" in form.inner_text()
            # Over the server's bound: its 422 is shown in Vietnamese, the price stays.
            form.locator("input").fill("999999999999")
            with page.expect_response(f"**/offers/{sale.offer_id}") as refused:
                form.locator("button[type=submit]").click()
            assert refused.value.status == 422
            page.wait_for_function(
                "() => document.querySelector('#offers .price-form .note').textContent"
                ".includes('tối đa')"
            )
            assert price_of(url, sale) == 250_000
            both_sizes(page, "price-error")
            # A good price, typed the Vietnamese way, previewed, then the API's.
            form.locator("input").fill("240.000")
            assert "240.000 ₫" in form.locator(".muted").inner_text()
            form.locator("button[type=submit]").click()
            page.wait_for_selector("#sale-note:has-text('thành 240.000 ₫')")
            assert form.is_hidden()
            assert "240.000 ₫" in row.inner_text()
            assert price_of(url, sale) == 240_000
            # A change from elsewhere (another device) reaches the list without a reload.
            httpx.patch(
                f"{url}/api/sessions/{sale.sid}/offers/{sale.offer_id}",
                json={"price": 230_000},
                headers=token(url, "host@farmlive.local"),
            ).raise_for_status()
            page.wait_for_selector("#offers li:has-text('230.000 ₫')", timeout=5_000)
            # Keep selling after the end: the switch is the session's sale_after_end.
            switch = page.locator("#after-end")
            assert not switch.is_checked() and not after_end(url, sale.sid)
            switch.check()
            page.wait_for_selector("#after-end-note[data-kind='info']")
            assert after_end(url, sale.sid)
            page.click("#sale-end")
            page.wait_for_selector("#end-dialog[open]")
            assert "VẪN NHẬN ĐƠN" in page.inner_text("#end-dialog")
            for size, label in ((PHONE, "360"), (DESKTOP, "1280")):
                page.set_viewport_size(size)
                assert_accessible(page, f"studio end dialog, replay on, {label}")
                page.screenshot(path=str(SHOTS / f"studio-end-dialog-replay-{label}.png"))
            page.click("#end-confirm")
            page.wait_for_selector("#sale-status:has-text('Đang bán qua xem lại')")
            assert row.locator(".price-toggle").is_hidden()  # prices are final after the end
            assert order_status(url, sale, 1) == 201
            both_sizes(page, "sale-after-end")
            switch.uncheck()
            page.wait_for_selector("#sale-status:has-text('Đã đóng bán')")
            assert not after_end(url, sale.sid) and not switch.is_checked()
            assert order_status(url, sale, 2) == 409
            watch.check(((422, f"/offers/{sale.offer_id}"), (404, "/whep/")))
        finally:
            context.close()
