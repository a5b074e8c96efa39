"""Live HLS latency: from a frame's capture (wall clock, stamped in the frame) to the moment
a reader can fetch the segment that holds it.

    .venv/bin/python bench/hls_latency.py [--seconds 20] [--poll-ms 50]

The path is the product's own, end to end on loopback: an aiortc publisher (H.264,
640x360, 30 fps, ~1 Mbit/s, sliding stripes plus grain) publishes over WHIP to a real
`stream.Relay` under uvicorn (uvloop, httptools, in its own process), whose `HlsRecorder`
writes 2 s fMP4 segments served by the real HLS route (`server/routes/hls.py`). The
publisher appends a 12-byte trailer with the capture time to each frame's last RTP
payload (as bench/relay.py does for VP8); the relay muxes the frame untouched, so the
trailer lands inside the segment. A reader polls the playlist every `--poll-ms`; when a
segment first appears it notes the time ("listed"), fetches it ("fetched") and reads the
capture times of every frame in it.

Printed per run: for the newest frame of each segment (the best case), the oldest (the
worst: it waited the whole segment) and all frames, capture -> listed and capture ->
fetched, p50 / p95 / max. What a player adds on top (it starts `liveSyncDurationCount`
target durations behind the live edge, hls.js's default 3, the viewer page's 2, and
reloads the playlist about once a target duration) is printed as an estimate, not
measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SESSION = "bench"
KEY = "bench-key"
STAMP_MAGIC = b"FLTS"
STAMP = struct.Struct("!4sd")
STAP_A = 24
CHROMIUM = Path("/usr/bin/chromium")
# The viewer page's own HLS path (web/js/media.js: hls.js, liveSyncDurationCount 2), sampled
# every 100 ms: [wall clock, the video's currentTime] while it plays.
PLAYER_PAGE = """<!doctype html><html lang="en"><title>HLS latency</title>
<video id="v" muted autoplay playsinline></video>
<script type="module">
import { hlsFallback } from "/web/js/media.js";
const v = document.getElementById("v");
window.samples = [];
window.started = hlsFallback({ code: "relay_full", status: 503 }, v, "/hls/bench/index.m3u8");
setInterval(() => {
  if (!v.paused && v.currentTime > 0) window.samples.push([Date.now() / 1000, v.currentTime]);
}, 100);
</script></html>"""


def serve(directory: str, sock: socket.socket) -> None:
    """The relay, WHIP and the HLS route in one uvicorn process (as `farmlive serve` runs)."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    from server.routes.hls import hls_router
    from server.routes.media import media_router
    from stream.relay import Relay

    relay = Relay([], hls_dir=Path(directory))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.stop()

    async def authorize(session_id: str, token: str | None) -> bool:
        return token == KEY

    async def exists(session_id: str) -> bool:
        return session_id == SESSION

    app = FastAPI(lifespan=lifespan)
    app.include_router(media_router(lambda: relay, authorize, exists))
    app.include_router(hls_router(lambda: relay.hls_dir))
    app.mount("/web", StaticFiles(directory=Path(__file__).resolve().parents[1] / "web"))

    @app.get("/latency.html")
    async def page() -> HTMLResponse:
        return HTMLResponse(PLAYER_PAGE)

    config = uvicorn.Config(
        app, log_level="warning", loop="uvloop", http="httptools", ws="none", lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])


def stamped(payload: bytes, stamp: bytes) -> bytes:
    """The RTP payload with `stamp` at the end of its last NAL unit: appended to a single
    NAL or a FU-A's last fragment; inside a STAP-A, the last unit's size grows with it."""
    if payload[0] & 0x1F != STAP_A:
        return payload + stamp
    at = 1
    while True:
        size = int.from_bytes(payload[at : at + 2], "big")
        if at + 2 + size >= len(payload):
            break
        at += 2 + size
    grown = (size + len(stamp)).to_bytes(2, "big")
    return payload[:at] + grown + payload[at + 2 :] + stamp


async def publish(base: str) -> tuple[Any, Any]:
    """An aiortc H.264 publisher whose frames carry their capture time; returns (pc, client)."""
    import aiortc.codecs.h264 as h264
    import aiortc.rtcrtpsender as rtcrtpsender
    import httpx
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.codecs import get_encoder

    from bench.relay import synthetic_camera

    h264.DEFAULT_BITRATE = h264.MIN_BITRATE = h264.MAX_BITRATE = 1_000_000
    captured: dict[int, float] = {}

    class StampingH264Encoder(h264.H264Encoder):
        def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
            at = captured.pop(frame.pts, None)  # before encoding: PyAV rescales frame.pts
            payloads, timestamp = super().encode(frame, force_keyframe)
            if payloads and at is not None:
                payloads[-1] = stamped(payloads[-1], STAMP.pack(STAMP_MAGIC, at))
            return payloads, timestamp

    def stamping_encoder(codec: Any) -> Any:
        if codec.mimeType.lower() == "video/h264":
            return StampingH264Encoder()
        return get_encoder(codec)

    rtcrtpsender.get_encoder = stamping_encoder  # type: ignore[assignment]

    from aiortc import RTCRtpSender

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver(synthetic_camera(captured), direction="sendonly")
    transceiver.setCodecPreferences(
        [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
    )
    await pc.setLocalDescription(await pc.createOffer())
    client = httpx.AsyncClient(base_url=base, timeout=20)
    r = await client.post(
        f"/whip/{SESSION}",
        content=pc.localDescription.sdp,
        headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {KEY}"},
    )
    r.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    return pc, client


async def up(base: str, within: float = 60.0) -> None:
    """Wait until the server answers (a 404 for the playlist is an answer)."""
    import httpx

    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while True:
            try:
                await client.get(f"/hls/{SESSION}/index.m3u8")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


def stamps(data: bytes) -> list[float]:
    """The capture times of the frames in one segment."""
    found, at = [], data.find(STAMP_MAGIC)
    while at != -1:
        if at + STAMP.size <= len(data):
            found.append(STAMP.unpack_from(data, at)[1])
        at = data.find(STAMP_MAGIC, at + 1)
    return found


async def read(base: str, seconds: float, poll_s: float) -> list[dict[str, Any]]:
    """Poll the playlist like an impatient player; per new segment, its times."""
    import httpx

    seen: set[str] = set()
    results: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            r = await client.get(f"/hls/{SESSION}/index.m3u8")
            listed = time.time()
            if r.status_code == 200:
                lines = r.text.splitlines()
                for i, line in enumerate(lines):
                    if not line.endswith(".m4s") or line in seen:
                        continue
                    seen.add(line)
                    duration = float(lines[i - 1].split(":", 1)[1].split(",", 1)[0])
                    start = sum(
                        float(x.split(":", 1)[1].split(",", 1)[0])
                        for x in lines[: i - 1]
                        if x.startswith("#EXTINF:")
                    )
                    segment = await client.get(f"/hls/{SESSION}/{line}")
                    fetched = time.time()
                    times = stamps(segment.content)
                    results.append(
                        {
                            "name": line,
                            "duration": duration,
                            "start": start,
                            "listed": listed,
                            "fetched": fetched,
                            "captures": times,
                        }
                    )
            await asyncio.sleep(poll_s)
    return results


async def watch_in_chromium(base: str, seconds: float) -> list[list[float]]:
    """hls.js in headless Chromium, as a viewer falling back to HLS: its (wall, currentTime)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/latency.html")
            if not await page.evaluate("window.started"):
                raise RuntimeError("hls.js did not start")
            await asyncio.sleep(seconds)
            return list(await page.evaluate("window.samples"))
        finally:
            await browser.close()


def capture_of(segments: list[dict[str, Any]], media_s: float) -> float | None:
    """The capture time of the frame at `media_s` in the recording, from the stamps."""
    for s in segments:
        if s["captures"] and s["start"] <= media_s < s["start"] + s["duration"]:
            return float(min(s["captures"])) + (media_s - s["start"])
    return None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        server = context.Process(target=serve, args=(tmp, sock), daemon=True)
        server.start()
        base = f"http://127.0.0.1:{port}"
        await up(base)
        pc, client = await publish(base)
        try:
            reading = asyncio.create_task(read(base, args.seconds, args.poll_ms / 1000))
            samples: list[list[float]] = []
            if args.chromium:
                await asyncio.sleep(4.0)  # a viewer joins a stream that is already on
                samples = await watch_in_chromium(base, args.seconds - 6.0)
            segments = await reading
        finally:
            await pc.close()
            await client.aclose()
            server.terminate()
            server.join(10)
            sock.close()
    if args.verbose:
        for s in segments:
            print(s["name"], s["duration"], f"{s['listed']:.2f}", len(s["captures"]))
    # The first segment(s) listed at the reader's first successful poll were already
    # there: their "listed" time is not when they appeared. Skip any listed on that poll.
    first_listed = min((s["listed"] for s in segments), default=0.0)
    live = [s for s in segments if s["listed"] > first_listed and s["captures"]]
    if not live:
        print("no segment with stamped frames appeared while reading", file=sys.stderr)
        return 1
    rows = {
        "newest frame -> listed": [s["listed"] - max(s["captures"]) for s in live],
        "oldest frame -> listed": [s["listed"] - min(s["captures"]) for s in live],
        "every frame -> listed": [s["listed"] - c for s in live for c in s["captures"]],
        "newest frame -> fetched": [s["fetched"] - max(s["captures"]) for s in live],
        "oldest frame -> fetched": [s["fetched"] - min(s["captures"]) for s in live],
    }
    durations = [s["duration"] for s in live]
    frames = sum(len(s["captures"]) for s in live)
    print(
        f"segments {len(live)} (mean {statistics.mean(durations):.2f} s, {frames} stamped frames), "
        f"poll every {args.poll_ms} ms, load {os.getloadavg()}"
    )
    print(f"{'capture ->':28} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name, values in rows.items():
        print(f"{name:28} {pct(values, 50):7.2f} {pct(values, 95):7.2f} {max(values):7.2f}")
    if args.chromium:
        # The first 5 s of playing are hls.js catching up to its target: skip them.
        played = [
            wall - capture
            for wall, media in samples[50:]
            if (capture := capture_of(segments, media)) is not None
        ]
        if played:
            print(
                f"{'hls.js in Chromium: shown':28} {pct(played, 50):7.2f} {pct(played, 95):7.2f} "
                f"{max(played):7.2f}   ({len(played)} samples: wall clock - capture of the "
                "frame at currentTime)"
            )
        else:
            print("hls.js in Chromium: no sample could be placed", file=sys.stderr)
    target = max(durations)
    newest = pct(rows["newest frame -> listed"], 50)
    for count in (2, 3):
        print(
            f"estimate, a player {count} segments behind the live edge: ~{newest + count * target:.1f} s "
            f"(+ up to {target:.0f} s until its next playlist reload)"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll-ms", type=int, default=50)
    parser.add_argument("--verbose", action="store_true", help="one line per segment")
    parser.add_argument(
        "--chromium", action="store_true", help="also play it with hls.js in headless Chromium"
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
