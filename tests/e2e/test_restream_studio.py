"""The studio's restream panel in a real Chromium: add destinations, go live, watch their states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.axe import assert_accessible
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.test_pages import (
    PHONE,
    SHOTS,
    no_sideways_scroll,
    signed_in,
)
from tests.rtmp_server import RtmpServer, closed_port, rtmp_available, rtmp_server
from tests.services import services_required

pytestmark = pytest.mark.browser

KEY = "yt-studio-5f1e9a7c3b2d"


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[RtmpServer]:
    problem = rtmp_available()
    if problem is not None:
        if services_required():
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    with rtmp_server(tmp_path / "nginx") as server:
        yield server


def shoot_panel(page: Any, name: str) -> None:
    """The panel from its top, under the sticky top bar, as the host sees it."""
    page.locator("#restream-box").scroll_into_view_if_needed()
    page.evaluate(
        "() => window.scrollTo(0, document.querySelector('#restream-box').getBoundingClientRect().top"
        " + window.scrollY - document.querySelector('.topbar').offsetHeight - 8)"
    )
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_host_adds_destinations_goes_live_and_sees_their_states(
    browser: Any, nginx: RtmpServer, tmp_path: Path
) -> None:
    """A bad URL is refused with its reason; going live shows live / error per destination."""
    with Server(tmp_path, farmlive_env(FARMLIVE_RATE_LIMITS="off"), ("--demo",)) as server:
        sid = httpx.get(f"{server.url}/api/sessions").json()[0]["id"]
        context, page, watch = signed_in(
            browser, f"{server.url}/studio/{sid}", "host@farmlive.local"
        )
        try:
            page.wait_for_selector("#restream-box:not([hidden])")
            assert "Chưa có điểm phát" in page.inner_text("#restream-box")
            text = page.input_value("#restream-text")
            assert f"/live/{sid}" in text and "VL" in text
            # A web address is refused, with the server's reason; nothing is added.
            page.fill("#restream-new", "https://www.youtube.com/live/abc")
            page.click("#restream-add button[type=submit]")
            page.wait_for_selector("#restream-note[data-kind='error']")
            assert "rtmp://" in page.inner_text("#restream-note")
            assert page.locator("#restream-list li").count() == 0
            good = nginx.url(KEY)
            for n, url in enumerate((good, f"rtmp://127.0.0.1:{closed_port()}/app/{KEY}x"), 1):
                page.fill("#restream-new", url)
                page.click("#restream-add button[type=submit]")
                page.wait_for_function(
                    f"() => document.querySelectorAll('#restream-list li').length === {n}"
                )
            listed = page.inner_text("#restream-list")
            assert KEY not in listed and "••••" in listed
            h264 = page.evaluate(
                "() => RTCRtpSender.getCapabilities('video').codecs.some(c => /h264/i.test(c.mimeType))"
            )
            page.click("#go")
            page.wait_for_selector("#conn-state[data-state='live']", timeout=20_000)
            rows = page.locator("#restream-list li")
            if h264:
                rows.nth(0).locator(".restream-state[data-status='live']").wait_for(timeout=20_000)
                assert page.locator("#restream-h264").is_hidden()
            else:
                rows.nth(0).locator(".restream-state[data-status='error']").wait_for(timeout=20_000)
                assert "H.264" in rows.nth(0).inner_text()
                assert "HLS" in page.inner_text("#restream-h264")
            rows.nth(1).locator(".restream-state[data-status='error']").wait_for(timeout=20_000)
            assert (
                "connection refused" in rows.nth(1).inner_text()
                or "H.264" in rows.nth(1).inner_text()
            )
            assert_accessible(page, "studio restream panel 1280")
            shoot_panel(page, "studio-restream-1280")
            page.set_viewport_size(PHONE)
            no_sideways_scroll(page)
            assert_accessible(page, "studio restream panel 360")
            shoot_panel(page, "studio-restream-360")
            # Switching a destination off keeps it (its key stays on the server) and idles it.
            rows.nth(0).locator("input[type=checkbox]").uncheck()
            rows.nth(0).locator(".restream-state[data-status='idle']").wait_for()
            assert page.locator("#restream-list li").count() == 2
            page.click("#go")
            watch.check(((422, "/restream"), (404, "/whep/")))
        finally:
            context.close()
        assert KEY not in server.output()
