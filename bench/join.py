"""Join to first frame for a browser viewer of a browser publisher, over WHEP, p95.

    .venv/bin/python bench/join.py [--joins 20] [--gap 1.0] [--deadline 100] [--no-hls]

Issue #15's target: a viewer who opens a live session sees its first frame within 0.5 s
(p95), with Chromium's default candidates. A join is what `web/js/viewer.js` does: the
product's own WHEP client (`web/js/media.js` `watch`: the offer leaves as soon as it is
created, and the relay learns the browser's candidates from its checks) POSTs the offer,
ICE and DTLS connect, the relay asks the publisher for a keyframe as the viewer's sender
starts (`stream.track.PacketTrack`; at most one request per session per 0.5 s,
`stream.keyframes`, a budget HLS's segment requests share), and nothing can be shown
before that keyframe arrives. Any of those steps can dominate, so the bench times each.

The path is the product's, on loopback: the real app (`create_app`, embedded default:
SQLite, in-memory hub) with its relay and HLS, under uvicorn with `farmlive serve`'s
options and heap settings (server/http_limits.serve_options, server/heap.py), in its own
process. Headless Chromium's fake camera publishes through the studio's calls
(`getUserMedia` asking 1280x720, `publish`: H.264 preferred) over WHIP. Then `--joins`
viewers join one after another, `--gap` seconds apart, each in a fresh context of a
second Chromium that has no fake media UI: no camera permission, so its host candidates
are mDNS `.local` names as a real viewer's are (the flag would grant every page the
permission; the bench prints the offers' count). The page takes `performance.now()` (on
the wall clock: `timeOrigin +`) just before `watch()` creates its RTCPeerConnection, and
when the offer is created, ICE gathering completes, the WHEP POST is answered, ICE
connects, DTLS connects (`connectionState`) and the first frame is presented
(`requestVideoFrameCallback`: its `presentationTime`; its `receiveTime` is when its last
packet arrived). The viewer then leaves (WHEP DELETE) and its context closes: one viewer
page at a time. The server times its side on the same clock with bench-only wrappers:
`Relay.view`, the viewer's sender starting, each keyframe request sent to the publisher,
each keyframe in, the viewer's first packet out; and it samples its event loop's lag
and its GC pauses, which delay every step that passes through that loop.

Printed: joins measured; p50 / p95 / max of join -> first frame and of each split; the
judged line, "join to first frame p95 = X s (target ≤ 0.5 s)", where a join that shows
nothing within 10 s counts as infinitely slow; and a JSON line with the raw numbers.
`--no-hls` serves without HLS, to tell the keyframe requests HLS makes every segment
(2 s) apart from the viewers' own.

Nothing leaves the machine. By default the whole bench runs in fresh network and PID
namespaces (`unshare`): loopback plus a veth pair with a private address are its only
interfaces, so Chromium's mDNS announcements go nowhere, and every peer has no ICE
servers. The PID namespace also ends every process of the bench (server, Playwright,
both Chromiums) when its first one ends, so a run past `--deadline` (plus 30 s) is
stopped whole. `--host-network` runs in the host's namespaces instead; Chromium then
announces its mDNS names on the host's LAN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

from fastapi import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chromium import CHROMIUM, FAKE_MEDIA_ARGS, QUIET_ARGS

TARGET_S = 0.5
EXTRA = ("mdns", "keyframes_decoded", "codec", "size", "candidates_at_ms")
JOIN_TIMEOUT_S = 10.0
LAG_SAMPLE_S = 0.02
INSIDE = "FARMLIVE_JOIN_NETNS"
VETH_V4, VETH_V6 = "10.215.0.1/24", "fd15::1/64"

PUBLISH_HTML = """<!doctype html><html lang="en"><meta charset="utf-8"><title>join bench: host</title>
<video id="preview" muted autoplay playsinline></video>
<script type="module" src="/bench/page/publish.js"></script></html>"""

# The studio's call (web/js/studio.js startPreview + publish), and the sender's counters.
PUBLISH_JS = """import { publish } from "/static/js/media.js";
const params = new URLSearchParams(location.search);
window.started = (async () => {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: true,
  });
  document.getElementById("preview").srcObject = stream;
  window.pub = await publish(`/whip/${params.get("sid")}`, stream, params.get("key"), {
    iceServers: [],
  });
  return "ok";
})().catch((error) => String(error));
window.senderStats = async () => {
  const report = await window.pub.pc.getStats();
  const out = {};
  report.forEach((r) => {
    if (r.type === "outbound-rtp" && r.kind === "video") {
      for (const key of ["pliCount", "firCount", "keyFramesEncoded", "framesEncoded",
                         "frameWidth", "frameHeight", "framesPerSecond", "encoderImplementation"]) {
        out[key] = r[key];
      }
      const codec = report.get(r.codecId);
      out.codec = codec ? codec.mimeType : null;
    }
  });
  return out;
};
"""

WATCH_HTML = """<!doctype html><html lang="en"><meta charset="utf-8"><title>join bench: viewer</title>
<video id="v" muted autoplay playsinline></video>
<script type="module" src="/bench/page/watch.js"></script></html>"""

# viewer.js startVideo, with marks: epoch milliseconds (timeOrigin + performance.now()).
WATCH_JS = """import { watch } from "/static/js/media.js";
const now = () => performance.timeOrigin + performance.now();
const marks = {};
const Native = window.RTCPeerConnection;
class Timed extends Native {
  constructor(config) {
    super(config);
    marks.pc ??= now();
    marks.candidateAt = [];
    this.addEventListener("icecandidate", (event) => {
      if (event.candidate) marks.candidateAt.push([now() - marks.pc, event.candidate.address]);
    });
    this.addEventListener("icegatheringstatechange", () => {
      if (this.iceGatheringState === "complete") marks.gathered ??= now();
    });
    this.addEventListener("iceconnectionstatechange", () => {
      const state = this.iceConnectionState;
      if (state === "checking") marks.checking ??= now();
      if (state === "connected" || state === "completed") marks.ice ??= now();
    });
    this.addEventListener("connectionstatechange", () => {
      if (this.connectionState === "connected") marks.connected ??= now();
    });
  }
  async setLocalDescription(description) {
    marks.offered ??= now();
    await super.setLocalDescription(description);
    marks.described ??= now();
  }
}
window.RTCPeerConnection = Timed;
const nativeFetch = window.fetch.bind(window);
window.fetch = async (url, init = {}) => {
  const post = init.method === "POST";
  if (post) {
    marks.posted = now();
    const candidates = String(init.body).split("\\n").filter((l) => l.startsWith("a=candidate:"));
    marks.candidates = candidates.length;
    marks.mdns = candidates.filter((l) => l.split(" ")[4].endsWith(".local")).length;
  }
  const response = await nativeFetch(url, init);
  if (post) {
    marks.answered = now();
    marks.location = response.headers.get("Location");
  }
  return response;
};
async function inbound(pc) {
  const report = await pc.getStats();
  let out = null;
  report.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") {
      const codec = report.get(r.codecId);
      out = { keyFramesDecoded: r.keyFramesDecoded, framesDecoded: r.framesDecoded,
              codec: codec ? codec.mimeType : null };
    }
  });
  return out;
}
window.join = async (sid) => {
  const video = document.getElementById("v");
  const shown = new Promise((resolve) => {
    video.requestVideoFrameCallback((_, meta) => resolve(meta));
  });
  marks.start = now();
  const conn = await watch(`/whep/${sid}`, { iceServers: [] });
  window.conn = conn;
  marks.watched = now();
  video.srcObject = conn.stream;
  video.play().catch(() => {});
  const meta = await shown;
  marks.frame = performance.timeOrigin + meta.presentationTime;
  if (meta.receiveTime) marks.received = performance.timeOrigin + meta.receiveTime;
  marks.width = meta.width;
  marks.height = meta.height;
  Object.assign(marks, await inbound(conn.pc));
  return marks;
};
window.leave = () => (window.conn ? window.conn.close() : null);
"""

PAGES = {
    "publish.html": (PUBLISH_HTML, "text/html; charset=utf-8"),
    "publish.js": (PUBLISH_JS, "text/javascript; charset=utf-8"),
    "watch.html": (WATCH_HTML, "text/html; charset=utf-8"),
    "watch.js": (WATCH_JS, "text/javascript; charset=utf-8"),
}


# -- the server process -----------------------------------------------------------------


def instrument() -> dict[str, Any]:
    """Bench-only wrappers that time the relay's side of each join (wall clock, seconds)."""
    from stream.publisher import Publisher
    from stream.relay import Relay
    from stream.room import Room
    from stream.track import PacketTrack

    log: dict[str, Any] = {"viewers": {}, "plis": [], "keyframes": [], "lag": [], "gc": []}
    # A viewer's video track -> its row (weak: a closed viewer's track may be collected and
    # its id() reused by another's).
    rows: weakref.WeakKeyDictionary[PacketTrack, dict[str, float]] = weakref.WeakKeyDictionary()

    view = Relay.view

    async def timed_view(self: Relay, session_id: str, offer_sdp: str, **kw: Any) -> Any:
        posted = time.time()
        resource_id, answer = await view(self, session_id, offer_sdp, **kw)
        row = log["viewers"][resource_id] = {"posted": posted, "answered": time.time()}
        room = self.room(session_id)
        viewer = room.viewers.get(resource_id) if room is not None else None
        if viewer is not None:
            pc = viewer.pc
            if "video" in viewer.tracks:
                rows[viewer.tracks["video"]] = row

            def ice() -> None:
                row.setdefault(f"ice_{pc.iceConnectionState}", time.time())

            def state() -> None:
                row.setdefault(pc.connectionState, time.time())

            pc.on("iceconnectionstatechange", ice)
            pc.on("connectionstatechange", state)
        return resource_id, answer

    recv = PacketTrack.recv

    async def timed_recv(self: PacketTrack) -> Any:
        if not self.started and (row := rows.get(self)) is not None:
            row["sender_started"] = time.time()
        return await recv(self)

    push = PacketTrack.push

    def timed_push(self: PacketTrack, packet: Any) -> None:
        before = self.forwarded
        push(self, packet)
        if before == 0 and self.forwarded == 1 and (row := rows.get(self)) is not None:
            row["first_out"] = time.time()

    request_keyframe = Publisher.request_keyframe

    def timed_request(self: Publisher) -> None:
        log["plis"].append(time.time())
        request_keyframe(self)

    on_packet = Room.on_packet

    def timed_packet(self: Room, publisher: Publisher, kind: str, packet: Any) -> None:
        if kind == "video" and packet.is_keyframe:
            log["keyframes"].append(time.time())
        on_packet(self, publisher, kind, packet)

    Relay.view = timed_view  # type: ignore[method-assign]
    PacketTrack.recv = timed_recv  # type: ignore[method-assign]
    PacketTrack.push = timed_push  # type: ignore[method-assign]
    Publisher.request_keyframe = timed_request  # type: ignore[method-assign]
    Room.on_packet = timed_packet  # type: ignore[method-assign]
    return log


def serve(port: int, workdir: str, hls: bool) -> None:
    """The real app (relay and HLS included) plus the bench pages, as `farmlive serve` runs."""
    import uvicorn
    from pydantic import SecretStr

    from server import heap
    from server.app import create_app
    from server.http_limits import serve_options
    from server.settings import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
        secret_key=SecretStr("bench-secret-key-long-enough"),
        hls_dir=f"{workdir}/hls" if hls else "",
        rate_limits=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    log = instrument()
    heap.tune()
    app = create_app(settings, after_startup=heap.settle)
    started = [0.0]

    def gc_watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            log["gc"].append((info["generation"], time.perf_counter() - started[0]))

    gc.callbacks.append(gc_watch)

    async def sample_lag() -> None:
        # How late the server's event loop wakes up: with the relay, HTTP and HLS on one
        # loop, a late wake-up delays every step of a join that passes through it.
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_SAMPLE_S)
            log["lag"].append(time.monotonic() - before - LAG_SAMPLE_S)

    @app.post("/bench/setup", include_in_schema=False)
    async def setup(request: Request) -> dict[str, Any]:
        sampler = asyncio.ensure_future(sample_lag())
        request.app.state.bench_sampler = sampler  # a strong reference
        catalogue = request.app.state.services.catalogue
        session = await catalogue.create_session(None, title="Join bench", host_id=None)
        return {"sid": session.id, "key": session.stream_key}

    @app.get("/bench/log", include_in_schema=False)
    async def relay_log(request: Request) -> dict[str, Any]:
        return {**log, "stats": request.app.state.services.relay.stats()}

    @app.get("/bench/page/{name}", include_in_schema=False)
    async def page(name: str) -> Response:
        if name not in PAGES:
            return Response(status_code=404)
        body, media_type = PAGES[name]
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **serve_options(settings))


# -- the controller ---------------------------------------------------------------------


def private_network() -> None:
    """Inside a fresh network namespace: loopback up, and one veth pair as the 'LAN'."""
    for command in (
        "ip link set lo up",
        "ip link add veth0 type veth peer name veth1",
        f"ip addr add {VETH_V4} dev veth0",
        f"ip -6 addr add {VETH_V6} dev veth0 nodad",
        "ip link set veth1 up",
        "ip link set veth0 up",
        # A default route, as a host has one: WebRTC finds its default address through it.
        # Nothing answers on veth1, so whatever takes it goes no further than this namespace.
        "ip route add default dev veth0",
        "ip -6 route add default dev veth0",
    ):
        subprocess.run(command.split(), check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(base: str, server: asyncio.subprocess.Process, deadline: float) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=1) as client:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError("the bench server exited early")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("the bench server did not start")


async def publish(playwright: Any, base: str, session: dict[str, Any]) -> Any:
    """The host's browser, publishing its fake camera; returns (browser, its page)."""
    browser = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=FAKE_MEDIA_ARGS
    )
    host = await (await browser.new_context()).new_page()
    await host.goto(f"{base}/bench/page/publish.html?sid={session['sid']}&key={session['key']}")
    started = await host.evaluate("window.started")
    if started != "ok":
        await browser.close()
        raise RuntimeError(f"the publisher did not start: {started}")
    await host.wait_for_function("window.pub.pc.connectionState === 'connected'", timeout=15000)
    return browser, host


async def join(browser: Any, base: str, sid: int) -> dict[str, Any]:
    """One viewer in a fresh context: its marks, or {"error": ...} if it showed no frame."""
    from playwright.async_api import Error as PlaywrightError

    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{base}/bench/page/watch.html")
        try:
            marks: dict[str, Any] = await asyncio.wait_for(
                page.evaluate("sid => window.join(sid)", sid), JOIN_TIMEOUT_S
            )
        except (TimeoutError, PlaywrightError) as exc:
            marks = {"error": str(exc).splitlines()[0] if str(exc) else "timeout"}
        with contextlib.suppress(TimeoutError, PlaywrightError):
            await asyncio.wait_for(page.evaluate("window.leave()"), 5)  # WHEP DELETE
        return marks
    finally:
        await context.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + args.deadline
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    joins: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as workdir:
        server = await asyncio.create_subprocess_exec(
            *(sys.executable, __file__, "serve", "--port", str(port), "--workdir", workdir),
            *(() if args.hls else ("--no-hls",)),
            cwd=workdir,
        )
        try:
            await wait_healthy(base, server, min(deadline, time.monotonic() + 60))
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                answer = await client.post("/bench/setup")
                answer.raise_for_status()
                session = answer.json()
                sid = session["sid"]
                async with async_playwright() as playwright:
                    host_browser, host = await publish(playwright, base, session)
                    # Viewers' own browser: no fake media UI, so no camera permission and
                    # mDNS host candidates (the flag grants every page the permission).
                    browser = await playwright.chromium.launch(
                        executable_path=str(CHROMIUM), headless=True, args=QUIET_ARGS
                    )
                    try:
                        # Let the publisher's encoder and bandwidth estimate settle first.
                        while time.monotonic() < deadline:
                            stats = (await client.get("/bench/log")).json()["stats"]
                            if stats.get(str(sid), {}).get("frames_in", {}).get("video", 0) >= 30:
                                break
                            await asyncio.sleep(0.2)
                        await asyncio.sleep(args.settle)
                        for _ in range(args.joins):
                            if deadline - time.monotonic() < JOIN_TIMEOUT_S + 10:
                                notes.append(f"deadline: {len(joins)} joins, not {args.joins}")
                                break
                            joins.append(await join(browser, base, sid))
                            await asyncio.sleep(args.gap)
                        sender = await host.evaluate("window.senderStats()")
                    finally:
                        await browser.close()
                        await host_browser.close()
                relay = (await client.get("/bench/log")).json()
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), 20)
            except TimeoutError:
                server.kill()
                await server.wait()
    return {"joins": joins, "notes": notes, "sender": sender, "relay": relay, "sid": sid}


# -- the report -------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def first_after(times: list[float], at: float | None) -> float | None:
    if at is None:
        return None
    return next((t for t in sorted(times) if t >= at), None)


def splits(result: dict[str, Any]) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Per join, seconds between its marks; rows of (name -> values), and the raw rows."""
    relay = result["relay"]
    raw: list[dict[str, Any]] = []
    for marks in result["joins"]:
        if not marks.get("frame"):
            raw.append({"join_to_frame": float("inf")})
            continue
        page = {k: v / 1000 for k, v in marks.items() if isinstance(v, int | float) and v > 1e12}
        rid = str(marks.get("location") or "").rsplit("/", 1)[-1]
        side = relay["viewers"].get(rid, {})
        started = side.get("sender_started")
        row: dict[str, Any] = {
            "join_to_frame": page["frame"] - page["start"],
            "mdns": f"{marks.get('mdns')}/{marks.get('candidates')}",
            "keyframes_decoded": marks.get("keyFramesDecoded"),
            "codec": marks.get("codec"),
            "size": f"{marks.get('width')}x{marks.get('height')}",
            "candidates_at_ms": [round(at) for at, _ in marks.get("candidateAt", [])],
        }

        def span(name: str, a: float | None, b: float | None, row: dict[str, Any] = row) -> None:
            row[name] = b - a if a is not None and b is not None else None

        span("page: start -> offer created", page["start"], page.get("offered"))
        span("page: offer -> POST", page.get("offered"), page.get("posted"))
        # Not waited for (media.js POSTs at once); shown to tell what that saves.
        span("page: offer -> gathering complete", page.get("offered"), page.get("gathered"))
        span("page: POST -> answered", page.get("posted"), page.get("answered"))
        span("page: answered -> ICE connected", page.get("answered"), page.get("ice"))
        span("page: ICE -> DTLS connected", page.get("ice"), page.get("connected"))
        span("page: DTLS -> first frame", page.get("connected"), page["frame"])
        span("relay: POST in -> answer out", side.get("posted"), side.get("answered"))
        outside = row["page: POST -> answered"]
        if outside is not None and "answered" in side:
            row["POST outside relay.view (HTTP, app)"] = outside - (
                side["answered"] - side["posted"]
            )
        span("relay: DTLS -> sender started", side.get("connected"), started)
        keyframe = first_after(relay["keyframes"], started)
        pli = first_after(relay["plis"], started)
        if pli is not None and keyframe is not None and pli > keyframe:
            pli = None  # a keyframe asked for earlier (HLS's, another viewer's) served it
        span("relay: sender started -> PLI sent", started, pli)
        span("relay: sender started -> keyframe in", started, keyframe)
        span("relay: keyframe in -> first packet out", keyframe, side.get("first_out"))
        span("first packet out -> frame received", side.get("first_out"), page.get("received"))
        span("page: frame received -> presented", page.get("received"), page["frame"])
        raw.append(row)
    names = [k for k in raw[0] if k not in EXTRA] if raw else []
    for r in raw:
        for k in r:
            if k not in names and k not in EXTRA:
                names.append(k)
    table = {n: [r[n] for r in raw if r.get(n) is not None] for n in names}
    return table, raw


def report(result: dict[str, Any], args: argparse.Namespace) -> int:
    table, raw = splits(result)
    measured = [r for r in raw if r["join_to_frame"] != float("inf")]
    sender = result["sender"]
    print(
        f"join bench: {len(raw)} joins ({len(measured)} showed a frame), gap {args.gap:g} s, "
        f"HLS {'on' if args.hls else 'off'}; "
        f"publisher {sender.get('codec')} {sender.get('frameWidth')}x{sender.get('frameHeight')} "
        f"{sender.get('framesPerSecond')} fps ({sender.get('encoderImplementation')}), "
        f"{sender.get('keyFramesEncoded')} keyframes for {sender.get('pliCount')} PLIs; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    mdns = sorted({str(r.get("mdns")) for r in measured})
    print(f"viewer offers' candidates (.local/all): {', '.join(map(str, mdns))}")
    print(f"{'':42} {'n':>3} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name, values in table.items():
        label = "join -> first frame" if name == "join_to_frame" else f"  {name}"
        print(
            f"{label:42} {len(values):3} {pct(values, 50):7.3f} {pct(values, 95):7.3f} "
            f"{max(values, default=float('nan')):7.3f}"
        )
    lag = result["relay"]["lag"]
    print(
        f"{'  server loop lag (sampled every 20 ms)':42} {len(lag):3} {pct(lag, 50):7.3f} "
        f"{pct(lag, 95):7.3f} {max(lag, default=float('nan')):7.3f}"
    )
    passes = result["relay"]["gc"]
    print(
        f"{'  server GC pauses (generation 2: ' + str(sum(g == 2 for g, _ in passes)) + ')':42} "
        f"{len(passes):3} {pct([d for _, d in passes], 50):7.3f} "
        f"{pct([d for _, d in passes], 95):7.3f} {max((d for _, d in passes), default=0):7.3f}"
    )
    for marks in result["joins"]:
        if "error" in marks:
            print(f"note: a join failed: {marks['error']}")
    for note in result["notes"]:
        print(f"note: {note}")
    p95 = pct(table["join_to_frame"], 95)
    print(f"join to first frame p95 = {p95:.3f} s (target ≤ {TARGET_S} s)")
    stats = result["relay"]["stats"].get(str(result["sid"]), {})
    print(
        json.dumps(
            {
                "joins": raw,
                "sender": sender,
                "relay": {k: stats.get(k) for k in ("keyframe_requests", "frames_in", "codecs")},
                "server_loop_lag_s": {
                    "p50": pct(lag, 50),
                    "p95": pct(lag, 95),
                    "max": max(lag, default=None),
                },
                "p95_s": p95,
            },
            default=str,
        )
    )
    return 0 if measured else 1


def in_private_network(argv: list[str], args: argparse.Namespace) -> int:
    """Run this bench again inside fresh network and PID namespaces; its exit status."""
    unshare = shutil.which("unshare")
    if unshare is None:
        print("unshare (util-linux) is missing; --host-network runs without it", file=sys.stderr)
        return 2
    command = [unshare, "--net", "--pid", "--fork", "--kill-child"]
    if os.geteuid() != 0:
        command.append("--map-root-user")
    command += [sys.executable, __file__, *argv]
    try:
        # On timeout, run() kills unshare; --kill-child ends the namespace's first process,
        # and with it the kernel ends every other one (server, Playwright, Chromium).
        done = subprocess.run(command, env={**os.environ, INSIDE: "1"}, timeout=args.deadline + 30)
    except subprocess.TimeoutExpired:
        print("the bench ran past its deadline and was stopped", file=sys.stderr)
        return 1
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serving = argparse.ArgumentParser()
        serving.add_argument("command")
        serving.add_argument("--port", type=int, required=True)
        serving.add_argument("--workdir", required=True)
        serving.add_argument("--no-hls", dest="hls", action="store_false")
        opts = serving.parse_args(argv)
        serve(opts.port, opts.workdir, opts.hls)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joins", type=int, default=20, help="viewers, one after another")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between two joins")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds live before joins")
    parser.add_argument("--deadline", type=float, default=100.0, help="seconds for the run")
    parser.add_argument(
        "--no-hls",
        dest="hls",
        action="store_false",
        help="serve without HLS (whose segment keyframe requests share the viewers' rate limit)",
    )
    parser.add_argument(
        "--host-network",
        action="store_true",
        help="run in the host's network namespace (Chromium's mDNS then reaches the LAN)",
    )
    args = parser.parse_args(argv)
    if args.joins < 1:
        parser.error("--joins must be at least 1")
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    if not args.host_network and os.environ.get(INSIDE) != "1":
        return in_private_network(argv, args)
    if os.environ.get(INSIDE) == "1":
        private_network()
    return report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    sys.exit(main())
