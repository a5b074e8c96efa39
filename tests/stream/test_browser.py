"""Interop with a real browser: headless Chromium publishes its fake camera over WHIP and plays over WHEP."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bench.chromium import CHROMIUM, FAKE_MEDIA_ARGS
from server.cors import Cors
from server.routes.hls import hls_router
from server.routes.media import media_router
from stream.relay import Relay
from tests.services import services_required
from tests.stream.peers import SyntheticPublisher, wait_for

pytestmark = pytest.mark.browser

PAGES = Path(__file__).parent / "pages"
WEB = Path(__file__).resolve().parents[2] / "web"
STREAM_KEY = "browser-key"
# Chromium runs with FAKE_MEDIA_ARGS: the fake UI grants every page the camera, so these
# pages offer real host addresses, not the mDNS names a viewer without that permission
# offers. mDNS viewers are covered by tests/stream/test_relay.py
# (test_mdns_candidates_cost_the_join_no_wait) and measured by bench/join.py, which runs
# its browsers in a private network.


def need_chromium() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if services_required():
            pytest.fail(message + " and FARMLIVE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)


def relay_app(statuses: list[tuple[str, str]], origins: list[str], hls_dir: Path) -> FastAPI:
    relay = Relay([], on_status=lambda sid, status: statuses.append((sid, status)), hls_dir=hls_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()

    async def authorize(session_id: str, token: str | None) -> bool:
        return token == STREAM_KEY

    async def exists(session_id: str) -> bool:
        return session_id == "s1"

    app = FastAPI(lifespan=lifespan)
    app.include_router(media_router(lambda: relay, authorize, exists, cors=Cors(origins)))

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return relay.stats()

    app.include_router(hls_router(lambda: relay.hls_dir))
    app.mount("/pages", StaticFiles(directory=PAGES), name="pages")
    app.mount("/web", StaticFiles(directory=WEB), name="web")
    return app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The media router and the test pages served by uvicorn on a free loopback port."""
    statuses: list[tuple[str, str]] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The viewer page loads from http://localhost:port, another origin than the relay's
    # http://127.0.0.1:port, so its WHEP requests go through CORS.
    app = relay_app(statuses, [f"http://localhost:{port}"], tmp_path)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", http="h11")
    uvicorn_server = uvicorn.Server(config)
    # The relay lives in uvicorn's own loop: aiortc objects belong to one event loop.
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if uvicorn_server.started:
            break
        threading.Event().wait(0.05)
    assert uvicorn_server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", statuses
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=15)
        sock.close()


async def test_chromium_publishes_over_whip_and_plays_over_whep(
    server: tuple[str, list[tuple[str, str]]],
) -> None:
    """Chromium's fake camera goes out over WHIP; a page on another origin plays it over WHEP (CORS)."""
    need_chromium()
    from playwright.async_api import async_playwright

    base, statuses = server
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FAKE_MEDIA_ARGS
        )
        try:
            context = await browser.new_context()
            host = await context.new_page()
            await host.goto(f"{base}/pages/whip.html?session=s1&key={STREAM_KEY}")
            assert await host.evaluate("window.result") == "ok"
            await host.wait_for_function("window.pc.connectionState === 'connected'", timeout=15000)

            async with httpx.AsyncClient(base_url=base) as client:

                async def stats() -> dict[str, Any]:
                    return (await client.get("/stats")).json().get("s1", {})

                for _ in range(150):
                    if (await stats()).get("frames_in", {}).get("video", 0) >= 10:
                        break
                    await asyncio.sleep(0.1)
                live = await stats()
                assert live["codecs"]["video"] in ("VP8", "H264")
                assert live["frames_in"]["video"] >= 10

                viewer = await context.new_page()
                other_origin = base.replace("127.0.0.1", "localhost")
                await viewer.goto(f"{other_origin}/pages/whep.html?session=s1&media={base}")
                assert await viewer.evaluate("window.result") == "ok"
                await viewer.wait_for_function("window.framesPainted >= 30", timeout=15000)
                quality = await viewer.evaluate(
                    "document.getElementById('player').getVideoPlaybackQuality().totalVideoFrames"
                )
                await viewer.wait_for_function(
                    f"document.getElementById('player').getVideoPlaybackQuality()"
                    f".totalVideoFrames > {quality + 15}",
                    timeout=10000,
                )
                width = await viewer.evaluate("document.getElementById('player').videoWidth")
                assert width > 0
                watched = await stats()
                assert watched["viewers"] == 1
                assert watched["frames_dropped"] == 0

                resource = await host.evaluate("window.resource")
                deleted = await client.delete(
                    resource, headers={"Authorization": f"Bearer {STREAM_KEY}"}
                )
                assert deleted.status_code == 200
            await wait_for(lambda: ("s1", "paused") in statuses, message="paused")
            assert statuses[0] == ("s1", "live")
        finally:
            await browser.close()


async def test_hls_js_plays_the_relays_hls_in_chromium(
    server: tuple[str, list[tuple[str, str]]],
) -> None:
    """An H.264 publisher's live HLS reads as H.264 in ffprobe and plays in Chromium through hls.js."""
    need_chromium()
    ffprobe = shutil.which("ffprobe")
    assert ffprobe is not None or not services_required(), "apt-get install ffmpeg"
    from playwright.async_api import async_playwright

    base, _ = server
    publisher = await SyntheticPublisher.offer(video_codec="video/H264")
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        published = await client.post(
            "/whip/s1",
            content=publisher.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {STREAM_KEY}"},
        )
        assert published.status_code == 201, published.text
        await publisher.answer(published.headers["location"].rsplit("/", 1)[1], published.text)

        async def segments() -> int:
            response = await client.get("/hls/s1/index.m3u8")
            return response.text.count(".m4s") if response.status_code == 200 else 0

        for _ in range(300):
            if await segments() >= 2:
                break
            await asyncio.sleep(0.1)
        playlist = await client.get("/hls/s1/index.m3u8")
        assert playlist.headers["cache-control"] == "public, max-age=1"
        first = next(line for line in playlist.text.splitlines() if line.endswith(".m4s"))
        segment = await client.get(f"/hls/s1/{first}")
        assert segment.status_code == 200
        assert "immutable" in segment.headers["cache-control"]
    if ffprobe is not None:
        probe = await asyncio.create_subprocess_exec(
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            f"{base}/hls/s1/index.m3u8",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(probe.communicate(), 30)
        assert "h264" in out.decode().split()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FAKE_MEDIA_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/pages/hls.html?session=s1")
            assert await page.evaluate("window.result") == "ok"
            assert await page.evaluate("typeof window.Hls") == "function"  # hls.js, loaded now
            await page.wait_for_function("window.framesPainted >= 10", timeout=20000)
            painted = await page.evaluate("window.framesPainted")
            await page.wait_for_function(f"window.framesPainted > {painted + 10}", timeout=10000)
            width = await page.evaluate("document.getElementById('player').videoWidth")
            assert width == 640
        finally:
            await browser.close()
    await publisher.close()
