"""The replay page in a real Chromium against a real `farmlive serve --demo`: an H.264
publisher goes live, the host pins and changes a price, the session ends with its sale kept
open; then /live/{sid} plays the kept HLS (frames advance), a tap on a moment seeks there
and shows its product, and that product can be ordered from the replay. Closing the sale
after the end takes the order button away and says the session has ended."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.e2e.axe import assert_accessible
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.test_pages import (
    DESKTOP,
    Demo,
    fill_sheet_with_keyboard,
    open_page,
    shoot,
)
from tests.stream.peers import SyntheticPublisher

pytestmark = pytest.mark.browser

SMALL_PHONE = {"width": 360, "height": 640}
NEW_PRICE = 230_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A demo server of this module's own: the test ends its session."""
    cwd = tmp_path_factory.mktemp("replay")
    with Server(cwd, farmlive_env(FARMLIVE_RATE_LIMITS="off"), ("--demo",)) as server:
        session = httpx.get(f"{server.url}/api/sessions").json()[0]
        config = httpx.get(f"{server.url}/api/client-config").json()
        yield Demo(
            url=server.url,
            sid=session["id"],
            coop_id=httpx.get(f"{server.url}/api/cooperatives").json()[0]["id"],
            offers={o["code"]: o["id"] for o in session["offers"]},
            features=config["features"],
            routes=config["routes"],
        )


async def record_a_live(demo: Demo) -> dict[str, Any]:
    """Publish H.264 for ~10 s with a pin, then a price change and a pin; end with the sale
    kept open; return the replay once its playlist is closed."""
    host = {"Authorization": f"Bearer {demo.token('host@farmlive.local')}"}
    sid = demo.sid
    async with httpx.AsyncClient(base_url=demo.url, timeout=20) as client:
        key = (await client.get(f"/api/sessions/{sid}/staff", headers=host)).json()["stream_key"]
        publisher = await SyntheticPublisher.offer(video_codec="video/H264")
        location = await publisher.publish(client, f"/whip/{sid}", key)

        async def segments() -> int:
            r = await client.get(f"/hls/{sid}/index.m3u8")
            return r.text.count(".m4s") if r.status_code == 200 else 0

        async def until_segments(n: int) -> None:
            for _ in range(300):  # the relay writes one every 2 s
                if await segments() >= n:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"fewer than {n} HLS segments after 30 s")

        async def pin(code: str) -> None:
            r = await client.post(
                f"/api/sessions/{sid}/pin", json={"offer_id": demo.offers[code]}, headers=host
            )
            assert r.status_code == 200, r.text

        await until_segments(1)
        await pin("VL2")
        await until_segments(3)  # a few seconds later in the recording
        r = await client.patch(
            f"/api/sessions/{sid}/offers/{demo.offers['VL5']}",
            json={"price": NEW_PRICE},
            headers=host,
        )
        assert r.status_code == 200, r.text
        await pin("VL5")
        await until_segments(5)
        r = await client.put(
            f"/api/sessions/{sid}/sale/after-end", json={"open": True}, headers=host
        )
        assert r.status_code == 200, r.text
        gone = await client.delete(location, headers={"Authorization": f"Bearer {key}"})
        assert gone.status_code in (200, 204), gone.text
        await publisher.close()
        assert (await client.post(f"/api/sessions/{sid}/end", headers=host)).status_code == 200
        async with asyncio.timeout(15):
            while True:
                r = await client.get(f"/api/sessions/{sid}/replay")
                if r.status_code == 200:
                    playlist = await client.get(r.json()["playlist"])
                    if "#EXT-X-ENDLIST" in playlist.text:
                        return dict(r.json())
                await asyncio.sleep(0.2)


def playing(page: Any, more_than: float) -> None:
    """The video's clock passes `more_than` seconds and it keeps decoding frames."""
    page.wait_for_function(
        f"() => document.querySelector('#video').currentTime > {more_than}", timeout=20_000
    )
    frames = page.evaluate(
        "document.querySelector('#video').getVideoPlaybackQuality().totalVideoFrames"
    )
    page.wait_for_function(
        "n => document.querySelector('#video').getVideoPlaybackQuality().totalVideoFrames > n + 10",
        arg=frames,
        timeout=10_000,
    )


def test_the_replay_plays_seeks_to_a_moment_and_sells_it(browser: Any, demo: Demo) -> None:
    """After a real recorded live: frames advance, a moment seeks, its product is ordered."""
    with ThreadPoolExecutor(1) as pool:  # the publisher's event loop, beside sync Playwright
        replay = pool.submit(asyncio.run, record_a_live(demo)).result(timeout=90)
    moments = replay["moments"]
    assert [(m["kind"], m["offer_id"]) for m in moments] == [
        ("pin", demo.offers["VL2"]),
        ("price", demo.offers["VL5"]),
        ("pin", demo.offers["VL5"]),
    ]
    assert moments[1]["price"] == NEW_PRICE
    assert replay["duration_s"] >= 8
    target = moments[1]  # the row of the price change (and of the pin just after it)
    assert target["t_s"] >= 2, moments  # far enough into the recording to tell a seek

    context, page, watch = open_page(browser, f"{demo.url}/live/{demo.sid}", SMALL_PHONE)
    try:
        page.wait_for_function("() => document.querySelectorAll('#moments .moment').length === 2")
        assert page.is_visible("#replay-badge")
        assert (page.text_content("#moments-title") or "").startswith("Sản phẩm trong phiên")
        assert page.evaluate("typeof window.Hls") == "function" or page.evaluate(
            "!!document.querySelector('#video').src"
        )
        playing(page, 0.5)
        first = page.locator("#moments .moment").nth(0)
        assert "Vải thiều loại A - thùng 2 kg" in first.inner_text()
        assert first.inner_text().startswith("0:0")

        # Jump to the last moment: the clock goes there and the card shows its product.
        # The price change and the pin of the 5 kg box seconds later are one row.
        second = page.locator("#moments .moment").nth(1)
        assert "Đổi giá: 230.000 ₫" in second.inner_text()
        second.click()
        page.wait_for_function(
            "t => { const v = document.querySelector('#video');"
            " return !v.seeking && v.currentTime >= t - 0.5 && v.currentTime < t + 3; }",
            arg=target["t_s"],
        )
        playing(page, target["t_s"] + 0.5)
        page.wait_for_function(
            "t => Number(document.querySelector('#moments .moment.is-now')?.dataset.t) === t",
            arg=target["t_s"],
        )
        assert page.inner_text("#offer-title") == "Vải thiều loại A - thùng 5 kg"
        assert page.inner_text("#offer-price") == "230.000 ₫"
        assert page.is_visible("#replay-note")
        size = second.bounding_box()
        assert size is not None and size["height"] >= 48 and size["width"] >= 300
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shoot(page, "replay-360", full_page=True)
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "replay-360-top", full_page=False)
        assert_accessible(page, "the replay page at 360 px")

        # Order what the moment shows.
        page.click("#buy")
        fill_sheet_with_keyboard(page, "Bà Tư", "0912000111")
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])", timeout=15_000)
        link = urlparse(page.get_attribute("#result-link", "href") or "")
        order_id = link.path.rsplit("/", 1)[-1]
        token = parse_qs(link.query)["token"][0]
        order = httpx.get(f"{demo.url}/api/orders/{order_id}", params={"token": token}).json()
        assert (order["quantity"], order["total"]) == (2, 2 * NEW_PRICE), order
        page.click("#result [data-close-sheet]")
        watch.check()
    finally:
        context.close()

    context, page, watch = open_page(browser, f"{demo.url}/live/{demo.sid}", DESKTOP)
    try:
        page.wait_for_function("() => document.querySelectorAll('#moments .moment').length === 2")
        playing(page, 0.5)
        # The one order (2 x 5 kg) counted once: the page's figure joins /stats and the lots.
        page.wait_for_function("() => document.querySelector('#sold').textContent === '10 kg'")
        shoot(page, "replay-1280", full_page=True)
        assert_accessible(page, "the replay page at 1280 px")
        watch.check()
    finally:
        context.close()


def test_a_replay_whose_sale_closed_has_no_order_button(browser: Any, demo: Demo) -> None:
    """The host closes the ended sale: the replay still plays but says it ended, no button."""
    token = demo.token("host@farmlive.local")
    host = {"Authorization": f"Bearer {token}"}
    if httpx.get(f"{demo.url}/api/sessions/{demo.sid}/replay").status_code != 200:
        pytest.skip("needs the recording of the test above")
    r = httpx.put(
        f"{demo.url}/api/sessions/{demo.sid}/sale/after-end", json={"open": False}, headers=host
    )
    assert r.status_code == 200 and r.json()["sale_status"] == "closed", r.text
    context, page, watch = open_page(browser, f"{demo.url}/live/{demo.sid}", SMALL_PHONE)
    try:
        page.wait_for_function("() => document.querySelectorAll('#moments .moment').length === 2")
        page.wait_for_selector("#sale-note:not([hidden])")
        assert page.inner_text("#sale-note") == "Phiên livestream đã kết thúc"
        assert not page.is_visible("#buy")
        assert not page.is_visible("#replay-note")
        playing(page, 0.5)
        shoot(page, "replay-closed-360", full_page=False)
        watch.check()
    finally:
        context.close()
    r = httpx.post(
        f"{demo.url}/api/sessions/{demo.sid}/orders",
        json={
            "offer_id": demo.offers["VL5"],
            "quantity": 1,
            "buyer": {
                "name": "Bà Tư",
                "phone": "0912000111",
                "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": "Thôn 1"},
            },
            "payment_method": "cod",
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_not_live", r.text
