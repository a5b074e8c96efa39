"""A whole sale from an empty database, by clicks and typing, in a real Chromium.

The admin adds two cooperatives and the staff accounts; each sets a password from the
one-time link; the host creates and schedules a session, records the streamer and
assigns a moderator; both cooperatives add a lot with a photo and attach it; the host
makes the offers and opens the sale; a viewer's chat order is turned into an order by the
assigned moderator (an unassigned one is refused); the cooperative finds it by its code,
confirms it and exports the CSV; the host pauses (orders refused), resumes, and ends
after the confirmation. Screenshots of every staff page at 360 and 1280 px.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from websockets.sync.client import connect

from tests.e2e.axe import assert_accessible
from tests.e2e.procs import Server, farmlive_env, run_cli
from tests.e2e.test_pages import DESKTOP, PHONE, SHOTS, Watch, shoot, signed_in

pytestmark = pytest.mark.browser
PASSWORD = "mat-khau-rat-dai-1"


def sign_in(
    browser: Any, url: str, email: str, viewport: dict[str, int] = DESKTOP
) -> tuple[Any, Any, Watch]:
    password = PASSWORD if email != "admin@htx.vn" else "admin-password-1"
    return signed_in(browser, url, email, password=password, viewport=viewport, timeout_ms=15_000)


def both_sizes(page: Any, name: str) -> None:
    """Screenshots at 1280 and 360 px, each size checked by axe-core (tests/e2e/axe.py)."""
    page.set_viewport_size(DESKTOP)
    shoot(page, f"{name}-1280")
    assert_accessible(page, f"{name} at 1280 px")
    page.set_viewport_size(PHONE)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    shoot(page, f"{name}-360")
    assert_accessible(page, f"{name} at 360 px")
    page.set_viewport_size(DESKTOP)
    assert width[0] <= width[1], f"{name}: {width[0]}px wide at 360"


def photo(tmp: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = tmp / name
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def admin_sets_up(page: Any) -> dict[str, str]:
    """Two cooperatives (one with a VietQR account), five accounts; their links."""
    for name, bank in (("HTX Vải thiều Lục Ngạn", "970436"), ("HTX Nhãn Hưng Yên", "")):
        page.fill("#coop-name", name)
        page.select_option("#coop-province", index=1)
        page.wait_for_function("() => document.querySelector('#coop-ward').options.length > 1")
        page.select_option("#coop-ward", index=1)
        page.fill("#coop-phone", "0204 388 0000")
        if bank:
            page.select_option("#coop-bank", bank)
            page.fill("#coop-account", "0011001234567")
            page.fill("#coop-holder", "HTX VAI THIEU LUC NGAN")
        page.click("#coop-form button[type=submit]")
        page.wait_for_selector(f"#coops li:has-text('{name}')")
    links = {}
    for email, role, coop in (
        ("coop1@htx.vn", "coop", 0),
        ("coop2@htx.vn", "coop", 1),
        ("host@htx.vn", "host", None),
        ("mod@htx.vn", "moderator", None),
        ("mod2@htx.vn", "moderator", None),
    ):
        page.fill("#user-email", email)
        page.select_option("#user-role", role)
        if coop is not None:
            page.select_option("#user-coop", index=coop)
        page.click("#user-form button[type=submit]")
        page.wait_for_selector(f"#users tr[data-email='{email}']")
        links[email] = page.inner_text("#link")
    return links


def test_a_whole_sale_from_the_browser(browser: Any, tmp_path: Path) -> None:
    """Empty database to ended sale, through the staff pages only (and a viewer's chat)."""
    env = farmlive_env(FARMLIVE_RATE_LIMITS="off")
    done = run_cli(
        "users", "add", "admin@htx.vn", "--role", "admin", "--password", "admin-password-1",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Server(tmp_path, env) as server:
        url = server.url
        ctx, page, watch = sign_in(browser, f"{url}/quan-tri", "admin@htx.vn")
        links = admin_sets_up(page)
        assert "bank" not in page.inner_text("#page-error")
        both_sizes(page, "quan-tri")
        watch.check()
        ctx.close()

        for email, link in links.items():
            ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
            p = ctx.new_page()
            p.goto(link)
            p.fill("#pw", PASSWORD)
            if email == "coop1@htx.vn":
                shoot(p, "mat-khau-360")
            p.click("#pw-form button[type=submit]")
            p.wait_for_selector("#pw-done", state="visible")
            ctx.close()

        # The host creates and schedules the session, records the streamer, a moderator.
        host_ctx, host, host_watch = sign_in(browser, f"{url}/phien", "host@htx.vn")
        host.fill("#s-title", "Phiên vải thiều và nhãn")
        host.fill("#s-when", "2030-06-20T20:00")
        host.click("#session-form button[type=submit]")
        host.wait_for_selector("#detail", state="visible")
        sid = int(host.evaluate("new URLSearchParams(location.search).get('sid')"))
        host.fill("#st-name", "Nguyễn Văn Minh")
        host.fill("#st-position", "Phó Chủ tịch UBND tỉnh")
        host.fill("#st-org", "UBND tỉnh Bắc Ninh")
        host.fill("#st-id", "024099001234")
        host.click("#streamer-form button[type=submit]")
        host.wait_for_selector("#streamer-note:has-text('Đã lưu')")
        host.select_option("#mod-pick", label="mod@htx.vn")
        host.click("#mod-form button[type=submit]")
        host.wait_for_selector("#mods li:has-text('mod@htx.vn')")

        # Each cooperative adds a lot with a photo and attaches it to the session.
        for email, product, colour in (
            ("coop1@htx.vn", "Vải thiều Lục Ngạn", (200, 30, 60)),
            ("coop2@htx.vn", "Nhãn lồng Hưng Yên", (190, 160, 80)),
        ):
            c_ctx, coop, c_watch = sign_in(browser, f"{url}/coop", email)
            coop.fill("#l-product", product)
            coop.fill("#l-grade", "A")
            coop.fill("#l-stock", "2")
            coop.select_option("#l-unit", label="tấn")
            coop.check("#l-vietgap")
            coop.set_input_files("#l-photo", str(photo(tmp_path, f"{email}.jpg", colour)))
            coop.click("#lot-form button[type=submit]")
            coop.wait_for_selector(f"#lots tr:has-text('{product}') img.thumb")
            assert "2 tấn" in coop.inner_text("#lots")
            coop.select_option("#attach-session", str(sid))
            coop.click("#attach-form button[type=submit]")
            coop.wait_for_selector("#attach-note:has-text('Đã lưu')")
            c_watch.check()
            c_ctx.close()

        host.reload()
        host.wait_for_selector("body[data-ready='1']", state="attached")
        host.wait_for_function("() => document.querySelectorAll('#o-lot option').length === 2")
        for index in (0, 1):
            host.select_option("#o-lot", index=index)
            host.fill("#o-title", f"Thùng 5 kg loại A ({index + 1})")
            host.fill("#o-pack", "5")
            host.fill("#o-price", "250000")
            host.fill("#o-max", "10")
            host.click("#offer-form button[type=submit]")
            host.wait_for_function(
                f"() => document.querySelectorAll('#offers li').length === {index + 1}"
            )
        both_sizes(host, "phien")
        host_watch.check()
        public = httpx.get(f"{url}/api/sessions/{sid}").json()
        assert public["status"] == "scheduled" and public["scheduled_at"].startswith("2030-06-20")
        assert public["streamer"]["position"] == "Phó Chủ tịch UBND tỉnh"
        assert {lot["cooperative_id"] for lot in public["lots"]} == {1, 2}

        # The host opens the sale from the studio.
        studio = host  # same tab: the sign-in lives in this tab's sessionStorage
        studio.goto(f"{url}/studio/{sid}")
        studio.wait_for_selector("body[data-ready='1']", state="attached")
        studio.click("#sale-open")
        studio.wait_for_selector("#sale-status:has-text('Đang mở bán')")

        # A viewer orders in the chat; the assigned moderator turns it into an order.
        code = public["offers"][0]["code"]
        with connect(f"{url.replace('http', 'ws')}/ws/sessions/{sid}", compression=None) as ws:
            json.loads(ws.recv())
            ws.send(json.dumps({"type": "hello", "name": "Chị Hoa"}))
            ws.send(json.dumps({"type": "chat", "text": f"chốt 2 thùng {code}"}))
            seen: list[dict[str, Any]] = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not any(
                m.get("type") == "order.draft" for m in seen
            ):
                try:
                    seen.append(json.loads(ws.recv(timeout=deadline - time.monotonic())))
                except TimeoutError:
                    break
            assert any(m.get("type") == "order.draft" for m in seen), seen
        m_ctx, mod, m_watch = sign_in(browser, f"{url}/dieu-phoi/{sid}", "mod@htx.vn")
        mod.wait_for_selector("#desk li[data-state='new']")
        mod.click("#desk li[data-state='new'] button:has-text('Nhận xử lý')")
        item = mod.locator("#desk li[data-state='claimed']")
        item.locator("input[id$='-phone']").fill("0912345678")
        item.locator("input[id$='-province']").fill("Bắc Ninh")
        item.locator("input[id$='-ward']").fill("Phường Chũ")
        item.locator("input[id$='-street']").fill("Thôn Bãi Bông")
        item.locator("button[type=submit]").click()
        mod.wait_for_selector("#desk li[data-state='ordered']")
        mod.wait_for_selector("#orders tr[data-code]")
        order_code = mod.get_attribute("#orders tr[data-code]", "data-code")
        both_sizes(mod, "dieu-phoi")
        m_watch.check()
        m_ctx.close()
        o_ctx, other, _ = sign_in(browser, f"{url}/dieu-phoi/{sid}", "mod2@htx.vn")
        other.wait_for_selector("#page-error:has-text('không phải điều phối viên')")
        o_ctx.close()

        # The cooperative finds it by its code, confirms it, exports the packing list.
        c_ctx, coop, c_watch = sign_in(browser, f"{url}/coop", "coop1@htx.vn")
        coop.fill("#order-search", order_code.lower())
        coop.wait_for_function(
            "() => document.querySelectorAll('#orders tr[data-code]').length === 1"
        )
        row = coop.locator(f"#orders tr[data-code='{order_code}']")
        row.get_by_role("button", name="Đã gọi xác nhận").click()
        coop.wait_for_selector(f"#orders tr[data-code='{order_code}']:has-text('Đã xác nhận')")
        with coop.expect_download() as download:
            coop.click("#export")
        target = tmp_path / "don-hang.csv"
        download.value.save_as(target)
        text = target.read_text(encoding="utf-8")
        assert order_code in text and "Đã xác nhận" in text and '"=""0912345678"""' in text
        coop.fill("#order-search", "")
        both_sizes(coop, "coop-operate")
        c_watch.check()
        c_ctx.close()

        # Pause: orders refused with a clear message; resume; end after the confirmation.
        studio.click("#sale-pause")
        studio.wait_for_selector("#sale-status:has-text('Tạm dừng bán')")
        body = {
            "offer_id": public["offers"][0]["id"],
            "quantity": 1,
            "buyer": {"name": "Anh Tuấn", "phone": "0987000111",
                      "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": "1"}},
            "payment_method": "cod",
        }  # fmt: skip
        refused = httpx.post(
            f"{url}/api/sessions/{sid}/orders",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "sale_paused"
        studio.click("#sale-resume")
        studio.wait_for_selector("#sale-status:has-text('Đang mở bán')")
        studio.click("#sale-end")
        studio.wait_for_selector("#end-dialog[open]")
        assert "vĩnh viễn" in studio.inner_text("#end-dialog")
        both_sizes(studio, "studio-end-dialog")
        studio.click("#end-confirm")
        studio.wait_for_selector("#sale-status:has-text('Đã đóng bán')")
        assert httpx.get(f"{url}/api/sessions/{sid}").json()["sale_status"] == "closed"
        both_sizes(studio, "studio-ended")
        host_ctx.close()
    assert SHOTS.exists()
