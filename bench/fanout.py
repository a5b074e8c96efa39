"""Live-room fan-out: N viewers on one server process, counter updates at a fixed rate.

    .venv/bin/python bench/fanout.py [--viewers 1000,5000,10000] [--rate 10] [--seconds 10]
                                     [--client-procs 2] [--event stock|chat]

For each N a fresh server process runs the real app (`create_app`, embedded default:
SQLite, in-memory hub, in-process gate) under uvicorn with the options `farmlive serve`
uses (server/http_limits.serve_options: uvloop, httptools, deflate off), plus bench-only
routes. `--event stock` (the default): `POST /bench/publish` places `--rate` holds a
second in the inventory gate and tells the live room, exactly as the order path does
(`lots_changed`), so the counters travel the real way: stock coalescer (at most one
`stock` event per session per 0.2 s) -> hub -> fan-out -> every socket. Each published
`stock` event is timestamped with its seq and the oldest order it first shows.
`--event chat` publishes chat-shaped events straight into the room instead.

Viewers are held by `--client-procs` processes with a lean WebSocket client (raw
asyncio protocol: handshake, unmasked frame parsing, pong replies). Printed per N:
viewers connected, events delivered/expected, clients that received everything, clients
dropped by the server, latency p50/p99/max from the event's publication to the client's
parse, p99 from the order's change in the gate ("chg p99", the coalescer's wait
included), server CPU while publishing, the longest fan-out pass (wall / CPU: wall far
above CPU means the server was waiting for a core), and server RSS per idle viewer.
The JSON line adds GC passes while publishing. Loopback only, bounded in time, stops by
itself; raises the open-files limit for itself (10,000 viewers need ~20,000 descriptors:
the server's and the clients').

Diagnostics: FANOUT_TRACE=1 prints tracemalloc's top growth from before the viewers
connect to idle (FANOUT_TRACE_DEPTH, FANOUT_TRACE_TOP); FANOUT_PROFILE=path dumps a
cProfile of the server while publishing to path.N.

On a loopback box every send also runs the receiver's TCP input in the sender's
syscall: one pass costs ~16-23 us of server CPU per viewer here, which is the cost of a
bare `socket.send` on this machine (11-27 us measured); at 10,000 viewers a pass is
~0.2 s of CPU, so the p99 follows the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing
import os
import resource
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request  # module level: route annotations are resolved here

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACK_GRAMS = 5000
MAX_CONNECTIONS = 15_000  # above the largest N (each viewer is one connection)
END_ID = "bench-end"
TEXT = "Vải thiều Lục Ngạn loại A, quả to, cùi dày, ngọt lịm"  # a typical chat line
MARK = b'"sent":'
STOCK = b'{"type":"stock"'
SEQ = b'"seq":'
END = b'"id":"bench-end"'


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# -- the server process -----------------------------------------------------------------
def serve(port: int, workdir: str) -> None:
    """The real app plus the bench routes, served as `farmlive serve` serves it."""
    import uvicorn

    from server.app import create_app
    from server.http_limits import serve_options
    from server.settings import Settings
    from shop.adapters.sql.catalogue import NewLot, NewOffer
    from shop.adapters.sql.compliance import SqlCompliance
    from shop.catalogue import SessionStatus
    from shop.gate import LotSeed

    raise_nofile()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
        secret_key="bench-secret-key-long-enough",
        rate_limits=False,
        http_max_connections=MAX_CONNECTIONS,
        _env_file=None,  # type: ignore[call-arg]
    )
    app: FastAPI = create_app(settings)
    publishers: set[asyncio.Task[None]] = set()  # strong references
    traced: dict[str, Any] = {}
    passes: list[tuple[float, float]] = []  # (wall s, cpu s) of each fan-out pass
    pauses: list[tuple[int, float]] = []  # (generation, ms) of each GC pass
    gc_started = [0.0]

    def gc_watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], (time.perf_counter() - gc_started[0]) * 1000))

    gc.callbacks.append(gc_watch)
    lots: dict[int, int] = {}  # session -> its lot
    changes: list[float] = []  # wall time of each gate change (order n holds n+1 packs)
    # seq of each published stock event -> (published at, oldest change it first shows)
    stamps: dict[int, tuple[float, float | None]] = {}
    covered = 0
    shown_all = asyncio.Event()  # set once a stock event shows every change so far

    def stamp(publish: Any) -> Any:
        async def stamped(session_id: int, event: dict[str, Any]) -> None:
            nonlocal covered
            shown = int(event["held_grams"]) // PACK_GRAMS  # orders 0..shown-1 included
            oldest = changes[covered] if shown > covered and covered < len(changes) else None
            covered = max(covered, shown)
            stamps[int(event["seq"])] = (time.time(), oldest)
            await publish(session_id, event)
            if covered >= len(changes):
                shown_all.set()

        return stamped

    @app.post("/bench/setup", include_in_schema=False)
    async def setup(request: Request) -> dict[str, int]:
        services = request.app.state.services
        catalogue = services.catalogue
        coop = await catalogue.create_cooperative(None, name="HTX Bench", province="Bắc Ninh")
        lot = await catalogue.create_lot(
            None,
            NewLot(
                cooperative_id=coop.id,
                product="Vải thiều",
                grade="A",
                origin=None,
                harvest_date=None,
                vietgap=False,
                stock_grams=60_000_000,
            ),
        )
        session = await catalogue.create_session(None, title="Bench", host_id=None)
        # What a session needs before it goes live: the lot attached, a streamer recorded.
        await services.session_staff.attach_lot(None, session.id, lot.id)
        await SqlCompliance(services.engine).record_streamer(
            None,
            session.id,
            full_name="Nguyễn Văn A",
            id_number="001099012345",
            organisation=None,
            phone=None,
            position="Giám đốc",
        )
        await catalogue.create_offer(
            None,
            session.id,
            NewOffer(lot_id=lot.id, title="Thùng 5 kg", pack_grams=5000, price=250_000),
        )
        await catalogue.set_session_status(None, session.id, SessionStatus.LIVE)
        await services.gate.load(LotSeed(lot_id=lot.id, stock_grams=lot.stock_grams))
        lots[session.id] = lot.id
        stock = services.live.service.stock
        stock._publish = stamp(stock._publish)  # bench-only: timestamp each stock event
        fanout = services.live.fanout
        deliver = fanout.deliver

        def timed(session_id: int, audience: Any, payload: str) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            deliver(session_id, audience, payload)
            passes.append((time.perf_counter() - wall, time.thread_time() - cpu))

        fanout.deliver = timed  # bench-only: time each pass
        return {"sid": session.id}

    @app.post("/bench/publish", include_in_schema=False)
    async def publish(
        request: Request, sid: int, count: int, rate: float, kind: str = "stock"
    ) -> dict[str, Any]:
        services = request.app.state.services
        live = services.live

        async def paced(step: Callable[[int], Awaitable[None]]) -> None:
            start = time.monotonic()
            for n in range(count):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await step(n)

        async def chat(n: int) -> None:
            event = {"type": "chat", "id": f"b-{n}", "name": "Bench", "text": TEXT}
            event["ts"] = int(time.time() * 1000)
            event["sent"] = time.time()  # last: clients find it at the end
            await live.service.publish(sid, event)

        async def order(n: int) -> None:
            # What the order path does for one order: hold grams in the gate, then tell
            # the live room which lot changed (the coalescer publishes the counters).
            await services.gate.reserve(
                lots[sid],
                f"bench-{n}",
                PACK_GRAMS,
                buyer=f"b{n}",
                buyer_cap_grams=None,
                expires_at=None,
            )
            changes.append(time.time())
            shown_all.clear()  # until a stock event shows this one too
            await live.lots_changed([lots[sid]])

        async def run() -> None:
            shown_all.clear()
            profile = os.environ.get("FANOUT_PROFILE")  # a path: cProfile the publishing
            profiler = None
            if profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            await paced(chat if kind == "chat" else order)
            if kind != "chat":
                await asyncio.wait_for(shown_all.wait(), 30)  # the last order's counters
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(f"{profile}.{live.fanout.total}")
            # The end mark: after everything above on every socket (one ordered stream).
            await live.service.publish(sid, {"type": "chat", "id": END_ID, "text": "end"})

        task = asyncio.create_task(run())
        publishers.add(task)
        task.add_done_callback(publishers.discard)
        return {"started": True}

    @app.get("/bench/stock_times", include_in_schema=False)
    async def stock_times() -> dict[int, tuple[float, float | None]]:
        return stamps

    @app.post("/bench/trace", include_in_schema=False)
    async def trace(mark: str) -> list[str]:
        """FANOUT_TRACE=1 only: `mark=start`, later `mark=report` (top growth by line)."""
        import tracemalloc

        if mark == "start":
            tracemalloc.start(int(os.environ.get("FANOUT_TRACE_DEPTH", "1")))
            traced["base"] = tracemalloc.take_snapshot()
            return []
        grown = tracemalloc.take_snapshot().compare_to(traced["base"], "traceback")
        total = sum(d.size_diff for d in grown)
        lines = [f"total {total / 1024:.0f} KiB"]
        for diff in grown[: int(os.environ.get("FANOUT_TRACE_TOP", "40"))]:
            lines.append(f"{diff.size_diff / 1024:9.0f} KiB {diff.count_diff:8d}")
            lines.extend(f"      {frame}" for frame in diff.traceback.format()[-6:])
        return lines

    @app.get("/bench/stats", include_in_schema=False)
    async def stats(request: Request) -> dict[str, Any]:
        fanout = request.app.state.services.live.fanout
        times = os.times()
        return {
            "rss": rss_bytes(),
            "cpu": times.user + times.system,
            "viewers": fanout.total,
            "delivered": fanout.delivered,
            "dropped": fanout.dropped,
            "publishing": bool(publishers),
            "gc": list(pauses),
            "passes": list(passes),
        }

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **serve_options(settings))


# -- the viewers ------------------------------------------------------------------------
class Viewer(asyncio.Protocol):
    """A minimal WebSocket client: handshake, unmasked frames in, masked pongs out."""

    __slots__ = (
        "buffer",
        "closed",
        "code",
        "count",
        "done",
        "latencies",
        "open",
        "path",
        "ready",
        "stock",
        "transport",
    )

    def __init__(
        self, path: str, latencies: list[float], stock: tuple[list[int], list[float]]
    ) -> None:
        self.path = path
        self.latencies = latencies
        self.stock = stock  # (seq, received at) of every stock event, all viewers
        self.buffer = bytearray()
        self.open = False
        self.closed = False
        self.code: int | None = None
        self.count = 0
        self.done = False
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail()
                return
            del buf[: end + 4]
            self.open = True
            if not self.ready.done():
                self.ready.set_result(True)
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if size - pos < head + length:
                break
            start = pos + head
            end = start + length
            if opcode == 1:
                if buf.startswith(STOCK, start):
                    mark = buf.rfind(SEQ, start, end)
                    self.count += 1
                    self.stock[0].append(int(buf[mark + len(SEQ) : end - 1]))
                    self.stock[1].append(time.time())
                elif buf.find(END, start, end) >= 0:
                    self.done = True
                elif (mark := buf.rfind(MARK, start, end)) >= 0:
                    self.count += 1
                    sent = float(buf[mark + len(MARK) : end - 1])
                    self.latencies.append(time.time() - sent)
            elif opcode == 9:  # ping: answer with a masked pong carrying the same data
                payload = bytes(buf[start:end])
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                assert self.transport is not None
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            elif opcode == 8:
                self.code = struct.unpack_from("!H", buf, start)[0] if length >= 2 else 1005
            pos = end
        if pos:
            del buf[:pos]

    def _fail(self) -> None:
        if not self.ready.done():
            self.ready.set_result(False)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(False)


def client_process(port: int, path: str, count: int, conn: Connection) -> None:
    """Hold `count` viewers; report when connected, then what each received."""
    import uvloop

    raise_nofile()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        stock: tuple[list[int], list[float]] = ([], [])
        viewers: list[Viewer] = []
        gate = asyncio.Semaphore(100)

        async def open_one() -> None:
            async with gate:
                for _ in range(3):
                    viewer = Viewer(path, latencies, stock)
                    try:
                        await loop.create_connection(lambda v=viewer: v, "127.0.0.1", port)
                        if await asyncio.wait_for(viewer.ready, 20):
                            viewers.append(viewer)
                            return
                    except (OSError, TimeoutError):
                        await asyncio.sleep(0.2)

        await asyncio.gather(*(open_one() for _ in range(count)))
        conn.send(("connected", len(viewers)))
        deadline_s = conn.recv()  # the controller says: publishing starts now
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if all(v.done or v.closed for v in viewers):
                break
            await asyncio.sleep(0.1)
        conn.send(
            (
                "done",
                [v.count for v in viewers],
                sum(1 for v in viewers if v.closed),
                sorted({v.code for v in viewers if v.code is not None}),
                latencies,
                stock,
            )
        )
        conn.recv()  # hold the connections until told
        for viewer in viewers:
            if viewer.transport is not None:
                viewer.transport.close()

    uvloop.run(main())


# -- the controller ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the bench server exited early")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the bench server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_one(viewers: int, rate: float, seconds: float, procs: int, kind: str) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen(
            [sys.executable, __file__, "serve", "--port", str(port), "--workdir", workdir],
            cwd=workdir,
        )
        clients: list[tuple[multiprocessing.Process, Connection]] = []
        try:
            wait_healthy(url, server)
            sid = httpx.post(f"{url}/bench/setup", timeout=30).json()["sid"]
            time.sleep(1.5)  # let startup work settle before the baseline
            tracing = bool(os.environ.get("FANOUT_TRACE"))
            if tracing:
                httpx.post(f"{url}/bench/trace", params={"mark": "start"}).raise_for_status()
            before = httpx.get(f"{url}/bench/stats").json()
            ctx = multiprocessing.get_context("fork")
            share = [viewers // procs + (1 if i < viewers % procs else 0) for i in range(procs)]
            started = time.monotonic()
            for n in share:
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=client_process, args=(port, f"/ws/sessions/{sid}", n, child)
                )
                proc.start()
                clients.append((proc, parent))
            connected = 0
            for _, pipe in clients:
                if not pipe.poll(180):
                    raise TimeoutError("viewers did not connect in time")
                connected += pipe.recv()[1]
            connect_s = time.monotonic() - started
            time.sleep(2.0)  # idle: snapshots sent, viewer counts broadcast
            idle = httpx.get(f"{url}/bench/stats").json()
            if tracing:
                report = httpx.post(f"{url}/bench/trace", params={"mark": "report"}, timeout=120)
                print("\n".join(report.json()), flush=True)
            count = int(rate * seconds)
            for _, pipe in clients:
                pipe.send(seconds + 15)
            cpu0 = idle["cpu"]
            published_from = time.time()
            httpx.post(
                f"{url}/bench/publish",
                params={"sid": sid, "count": count, "rate": rate, "kind": kind},
            ).raise_for_status()
            results = [pipe.recv() for _, pipe in clients if pipe.poll(seconds + 30)]
            after = httpx.get(f"{url}/bench/stats").json()
            stamps = httpx.get(f"{url}/bench/stock_times").json()
            for _, pipe in clients:
                pipe.send("stop")
        finally:
            for proc, _ in clients:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    counts = [c for r in results for c in r[1]]
    if kind == "chat":
        events = count
        latencies = [x for r in results for x in r[4]]
        from_change: list[float] = []
    else:
        # seq -> (published at, oldest gate change it first shows); the run's events only
        sent = {int(k): v for k, v in stamps.items() if v[0] >= published_from}
        events = len(sent)
        latencies, from_change = [], []
        for r in results:
            for seq, at in zip(*r[5], strict=True):
                if (stamp := sent.get(seq)) is not None:
                    latencies.append(at - stamp[0])
                    if stamp[1] is not None:
                        from_change.append(at - stamp[1])
    complete = sum(1 for c in counts if c >= events)
    return {
        "kind": kind,
        "viewers": viewers,
        "connected": connected,
        "connect_s": connect_s,
        "events": events,
        "expected": events * connected,
        "delivered": sum(counts),
        "complete": complete,
        "closed": sum(r[2] for r in results),
        "codes": sorted({c for r in results for c in r[3]}),
        "dropped": after["dropped"],
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (max(latencies) if latencies else float("nan")) * 1000,
        "mean_ms": (statistics.fmean(latencies) if latencies else float("nan")) * 1000,
        # From the order's change in the gate: the coalescer's wait (<= 0.2 s) included.
        "change_p50_ms": percentile(from_change, 0.50) * 1000,
        "change_p99_ms": percentile(from_change, 0.99) * 1000,
        "server_cpu_pct": 100 * (after["cpu"] - cpu0) / seconds,
        # GC passes while publishing (a full one walks every object of every socket)
        "gc_passes": len(after["gc"]) - len(idle["gc"]),
        # One fan-out pass (a payload to every viewer): wall and CPU time, the longest
        "pass_wall_ms": 1000
        * max((w for w, _ in after["passes"][len(idle["passes"]) :]), default=0),
        "pass_cpu_ms": 1000
        * max((c for _, c in after["passes"][len(idle["passes"]) :]), default=0),
        "gc_max_ms": max((ms for _, ms in after["gc"][len(idle["gc"]) :]), default=0.0),
        "gc_full": sum(1 for g, _ in after["gc"][len(idle["gc"]) :] if g == 2),
        "rss_per_viewer_kib": (idle["rss"] - before["rss"]) / max(1, connected) / 1024,
        "rss_idle_mib": idle["rss"] / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--workdir", required=True)
    parser.add_argument("--viewers", default="1000,5000")
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time per N")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--event",
        choices=("stock", "chat"),
        default="stock",
        help="stock: orders change a lot's counters (gate -> coalescer -> fan-out); "
        "chat: chat-shaped events published straight to the room",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.workdir)
        return 0
    limit = raise_nofile()
    what = "orders (counter updates)" if args.event == "stock" else "chat events"
    print(
        f"fan-out bench: {args.rate:g} {what}/s for {args.seconds:g} s, open files {limit}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'viewers':>8} {'conn':>6} {'delivered/expected':>22} {'complete':>9} {'dropped':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'chg p99':>7} {'cpu %':>6} "
        f"{'pass ms':>11} {'KiB/viewer':>10}"
    )
    print(header)
    rows = []
    for n in (int(x) for x in args.viewers.split(",")):
        row = run_one(n, args.rate, args.seconds, args.client_procs, args.event)
        rows.append(row)
        ratio = f"{row['delivered']}/{row['expected']}"
        print(
            f"{row['viewers']:>8} {row['connected']:>6} {ratio:>22} {row['complete']:>9} "
            f"{row['dropped']:>7} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} "
            f"{row['max_ms']:>7.1f} {row['change_p99_ms']:>7.1f} {row['server_cpu_pct']:>6.1f} "
            f"{row['pass_wall_ms']:>5.0f}/{row['pass_cpu_ms']:<5.0f} "
            f"{row['rss_per_viewer_kib']:>10.1f}",
            flush=True,
        )
    print(json.dumps(rows, indent=None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
