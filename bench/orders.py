"""Order throughput and latency, judged as a ratio to a bare POST on the same server.

    python -m bench.orders [--duration 8] [--connections 64] [--configs embedded,redis-pg]
                           [--ledger on|off|both]

For each configuration it starts `farmlive` itself (the app from `create_app`, plus one
extra route, `POST /bench/bare`, that parses a JSON body and answers 201 without touching
the shop), then offers load from a separate process with a lean keep-alive client:
- closed loop on the bare route and on `POST /api/sessions/{sid}/orders`: requests/s,
  p50/p99; the ratio orders/s : bare/s is the figure the bench is judged on (target >= 0.5);
- `GET /healthz` under `wrk -c64` (Debian's wrk; skipped if missing): orders/s : healthz/s,
  target >= 0.35;
- open loop at a fixed 500 orders/s: p50/p99 measured from each request's scheduled send
  time (so queueing counts), target p99 <= 25 ms; beside it the bare route at the same
  rate, the p99 this machine and client allow a request that does no work at all.
`--ledger both` measures each configuration twice, with the public ledger's recorder and
with the bench's own app that leaves it out (never a product setting: the product always
writes the ledger), and reports what the ledger costs in order throughput (target <= 10 %)
and in CPU per order (app + PostgreSQL). The second server of a pair runs measurably slower
(10-15 % here), so run the pair both ways (`--ledger-first on`, then `off`) and average.
Everything runs on loopback, is bounded in time, and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request  # module level: route annotations are resolved from here
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


# -- the server side ----------------------------------------------------------------
def serve(port: int, ledger: bool = True) -> None:
    """Run the real app plus the bare baseline route, as `farmlive serve` does (its uvicorn
    options, server/http_limits.serve_options, and its heap settings, server/heap.py).

    `ledger=False` is the bench's own variant for the before/after figure: the order
    moves' recorder chain without the ledger's recorder (buyer messages stay)."""
    import uvicorn

    from server import heap
    from server.app import create_app
    from server.http_limits import serve_options
    from server.settings import Settings

    if not ledger:
        import server.services
        from shop.adapters.sql.notify_recorder import ChainRecorder, NotificationRecorder

        def without_ledger(engine: Any, extra: Any) -> Any:
            return ChainRecorder(NotificationRecorder(engine.dialect.name), extra)

        server.services._recorders = without_ledger
    settings = Settings()
    heap.tune()
    app = create_app(settings, after_startup=heap.settle)

    @app.post("/bench/bare", status_code=201, include_in_schema=False)
    async def bare(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": str(uuid.uuid4()), "echo": len(body)}, status_code=201)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **serve_options(settings))


# -- the load side (a separate process) ---------------------------------------------
def order_body(offer_id: int, i: int) -> bytes:
    return json.dumps(
        {
            "offer_id": offer_id,
            "quantity": 1,
            "buyer": {
                "name": f"Người mua {i}",
                "phone": f"09{i % 100_000_000:08d}",
                "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": "Thôn 1"},
            },
            "payment_method": "cod",
        }
    ).encode()


class Recorder:
    """Latencies and status counts of one load run."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def add(self, latency_s: float, status: int) -> None:
        self.latencies.append(latency_s)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self, elapsed: float) -> dict[str, Any]:
        lat = sorted(self.latencies)
        ok = sum(v for k, v in self.statuses.items() if k < 300)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0.0

        return {"rps": ok / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                "statuses": self.statuses}  # fmt: skip


async def closed_loop(
    host: str, port: int, path: str, request: Any, rec: Recorder, stop_at: float
) -> None:
    from bench.httpload import Connection

    conn = Connection(host, port)
    while time.perf_counter() < stop_at:
        body, headers = request()
        r = await conn.request("POST", path, body, headers)
        rec.add(r.latency_s, r.status)
    await conn.close()


async def open_loop(
    host: str, port: int, path: str, request: Any, rec: Recorder, rate: float, duration: float,
    connections: int,
) -> float:  # fmt: skip
    """Each request has a scheduled time; its latency counts from then, so a server that
    falls behind shows it (no coordinated omission).

    The connections are opened before the clock starts and the most recently freed one
    goes next, as a client's keep-alive pool does: only as many stay busy as the load
    needs, instead of 256 TCP handshakes counted as orders' latency in the first half
    second and idle connections timing out (keep-alive 5 s) at low rates."""
    from bench.httpload import Connection

    idle: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
    for _ in range(connections):
        conn = Connection(host, port)
        await conn.open()
        idle.put_nowait(conn)
    tasks = set()
    start = time.perf_counter()

    async def one(conn: Any, scheduled: float) -> None:
        body, headers = request()
        r = await conn.request("POST", path, body, headers)
        rec.add(time.perf_counter() - scheduled, r.status)
        idle.put_nowait(conn)

    for n in range(int(rate * duration)):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        task = asyncio.create_task(one(conn, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        await idle.get_nowait().close()
    return elapsed


async def load(
    url: str, path: str, offer_id: int, mode: str, rate: float, duration: float, connections: int
) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    counter = iter(range(10**9))
    rec = Recorder()

    def request() -> tuple[bytes, dict[str, str]]:
        i = next(counter)
        return order_body(offer_id, i + os.getpid() * 1000), {"Idempotency-Key": uuid.uuid4().hex}

    if mode != "closed":
        elapsed = await open_loop(host, int(port), path, request, rec, rate, duration, connections)
        return rec.summary(elapsed)
    start = time.perf_counter()
    await asyncio.gather(
        *[
            closed_loop(host, int(port), path, request, rec, start + duration)
            for _ in range(connections)
        ]
    )
    return rec.summary(time.perf_counter() - start)


def wrk_healthz(url: str, duration: float, connections: int = 64) -> float | None:
    """GET /healthz requests/s by wrk -c64 (Debian's wrk), or None where wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    out = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{max(1, int(duration))}s", f"{url}/healthz"],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    return float(match.group(1)) if match else None


# -- orchestration ------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BenchServer:
    def __init__(self, env: dict[str, str], cwd: str, *, ledger: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.orders", "--serve", str(self.port)]
            + ([] if ledger else ["--no-ledger"]),
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def set_up(url: str) -> tuple[int, int]:
    """Demo accounts, a 10,000-tonne lot and a live session with a 5 kg offer."""
    from server.demo import PASSWORD

    def tok(email: str) -> dict[str, str]:
        r = httpx.post(f"{url}/api/auth/token", data={"username": email, "password": PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    coop, host = tok("coop@farmlive.local"), tok("host@farmlive.local")
    cid = httpx.get(f"{url}/api/auth/me", headers=coop).json()["cooperative_id"]
    lot = httpx.post(
        f"{url}/api/lots",
        headers=coop,
        json={"cooperative_id": cid, "product": "Vải thiều", "stock_grams": 10_000_000_000},
    ).json()
    sid = httpx.post(f"{url}/api/sessions", headers=host, json={"title": "Bench"}).json()["id"]
    httpx.post(f"{url}/api/sessions/{sid}/lots", headers=coop, json={"lot_id": lot["id"]})
    httpx.put(
        f"{url}/api/sessions/{sid}/streamer",
        headers=host,
        json={"full_name": "Nguyễn Văn A", "id_number": "001099012345"},
    ).raise_for_status()
    offer = httpx.post(
        f"{url}/api/sessions/{sid}/offers",
        headers=host,
        json={
            "lot_id": lot["id"],
            "title": "Thùng 5 kg",
            "pack_grams": 5000,
            "price": 250000,
            "max_per_order": 10,
        },
    ).json()
    httpx.post(f"{url}/api/sessions/{sid}/start", headers=host).raise_for_status()
    return sid, offer["id"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (aiosqlite's included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every `postgres` process on this machine (the bench's backends among them):
    the ledger's SQL costs there, not in the app. Read with nothing else using PostgreSQL."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_load(
    url: str,
    path: str,
    offer_id: int,
    mode: str,
    duration: float,
    connections: int,
    rate: float = 0,
) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.orders",
            "--load",
            url,
            path,
            str(offer_id),
            mode,
            str(rate),
            str(duration),
            str(connections),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout)


def seed_demo(env: dict[str, str], cwd: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import asyncio\nfrom server.settings import Settings\nfrom server.services import open_services\n"
                "from server.demo import ensure_demo\n"
                "async def m():\n    async with open_services(Settings()) as s: await ensure_demo(s)\n"
                "asyncio.run(m())"
            ),
        ],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def configs(names: list[str], tmp: str) -> list[tuple[str, dict[str, str], Any]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FARMLIVE_")}
    base.update(PYTHONPATH=str(ROOT), FARMLIVE_RATE_LIMITS="off", FARMLIVE_SECRET_KEY="bench" * 8)
    out: list[tuple[str, dict[str, str], Any]] = []
    if "embedded" in names:
        out.append(
            (
                "embedded (SQLite + memory gate)",
                {**base, "FARMLIVE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"},
                None,
            )
        )
    if "redis-pg" in names:
        try:
            import asyncpg
            import redis

            redis.Redis(socket_timeout=1).ping()
            db = f"bench_{uuid.uuid4().hex[:8]}"

            async def create() -> None:
                conn = await asyncpg.connect(PG_ADMIN)
                for name in (db, f"{db}_nl"):  # the second for the run without the ledger
                    await conn.execute(f'CREATE DATABASE "{name}"')
                await conn.close()

            async def drop() -> None:
                conn = await asyncpg.connect(PG_ADMIN)
                for name in (db, f"{db}_nl"):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.close()

            asyncio.run(create())
            out.append(
                (
                    "Redis + PostgreSQL",
                    {
                        **base,
                        "FARMLIVE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1/{db}",
                        "FARMLIVE_REDIS_URL": "redis://127.0.0.1:6379/3",
                        "FARMLIVE_REDIS_PREFIX": f"bench{uuid.uuid4().hex[:6]}",
                    },
                    drop,
                )
            )
        except Exception as exc:  # report it and go on with what is there
            print(f"(skipping Redis + PostgreSQL: {exc})")
    return out


def report_ledger(pairs: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
    """Order throughput with and without the ledger's recorder, and what the ledger costs."""
    print(
        f"\n{'config':44} {'ledger on/s':>11} {'off/s':>7} {'cost':>6} | {'@500/s p99 on':>13} {'off':>6}"
        f" | {'CPU ms/order on':>15} {'off':>6} {'cost':>6}"
    )
    for name, on, off in pairs:
        cost = 1 - on["orders"]["rps"] / off["orders"]["rps"] if off["orders"]["rps"] else 0
        cpu_on = on["orders"]["app_cpu_ms"] + on["orders"]["pg_cpu_ms"]
        cpu_off = off["orders"]["app_cpu_ms"] + off["orders"]["pg_cpu_ms"]
        cpu_cost = 1 - cpu_off / cpu_on if cpu_on else 0
        print(
            f"{name:44} {on['orders']['rps']:11.0f} {off['orders']['rps']:7.0f} {cost:6.1%} | "
            f"{on['fixed']['p99_ms']:13.1f} {off['fixed']['p99_ms']:6.1f}"
            f" | {cpu_on:15.2f} {cpu_off:6.2f} {cpu_cost:6.1%}"
        )
    print(
        "Judged on: the ledger costs at most 10 % of order throughput. CPU per order (the app"
        " process, all threads, plus PostgreSQL's processes) is the steadier figure on a shared"
        " box: its cost is the share of an order's CPU that the ledger adds."
    )


def report(rows: list[Any], rate: float) -> None:
    print()
    print(
        f"{'config':44} {'bare POST/s':>11} {'healthz/s':>9} {'orders/s':>9} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'÷bare':>6} {'÷hz':>5} | {'@' + str(int(rate)) + '/s p50':>10} "
        f"{'p99 ms':>7} {'ok/s':>6} {'bare p99':>8}"
    )
    for name, bare, orders, fixed, healthz, fixed_bare in rows:
        ratio = orders["rps"] / bare["rps"] if bare["rps"] else 0
        hz = f"{healthz:9.0f}" if healthz else f"{'n/a':>9}"
        hz_ratio = f"{orders['rps'] / healthz:5.2f}" if healthz else f"{'n/a':>5}"
        print(
            f"{name:44} {bare['rps']:11.0f} {hz} {orders['rps']:9.0f} {orders['p50_ms']:7.1f} "
            f"{orders['p99_ms']:7.1f} {ratio:6.2f} {hz_ratio} | {fixed['p50_ms']:10.1f} "
            f"{fixed['p99_ms']:7.1f} {fixed['rps']:6.0f} {fixed_bare['p99_ms']:8.1f}"
        )
        bad = {
            k: v for k, v in {**orders["statuses"], **fixed["statuses"]}.items() if int(k) >= 300
        }
        if bad:
            print(f"  non-2xx answers: {bad}")
    print(
        "\nJudged on: orders/s ÷ bare POST/s (targets ≥ 0.6 embedded, ≥ 0.5 Redis + PG), "
        "orders/s ÷ GET /healthz/s by wrk -c64 (≥ 0.35), "
        f"p99 at {int(rate)} orders/s offered (≤ 25 ms). 'bare p99': the bare route at the "
        "same rate from the same client, what the machine itself allows."
    )


def measure(name: str, env: dict[str, str], tmp: str, args: Any, *, ledger: bool) -> Any:
    """One server: bare, orders (closed loop), orders at a fixed rate, healthz by wrk."""
    seed_demo(env, tmp)
    server = BenchServer(env, tmp, ledger=ledger)
    try:
        sid, offer_id = set_up(server.url)
        orders_path = f"/api/sessions/{sid}/orders"
        run_load(server.url, orders_path, offer_id, "closed", 1.5, 16)  # warm-up
        bare = run_load(
            server.url, "/bench/bare", offer_id, "closed", args.duration, args.connections
        )
        # CPU per order, the ledger figure that noise cannot move much: throughput on a
        # shared box swings by tens of percent between runs, CPU time per order does not.
        app_cpu, pg_cpu = cpu_seconds(server.proc.pid), postgres_cpu_seconds()
        orders = run_load(
            server.url, orders_path, offer_id, "closed", args.duration, args.connections
        )
        count = orders["rps"] * args.duration
        orders["app_cpu_ms"] = (cpu_seconds(server.proc.pid) - app_cpu) * 1000 / max(1, count)
        orders["pg_cpu_ms"] = (postgres_cpu_seconds() - pg_cpu) * 1000 / max(1, count)
        fixed = run_load(server.url, orders_path, offer_id, "open", args.duration, 256, args.rate)
        # The floor under that p99: a route that does nothing, at the same rate.
        fixed_bare = run_load(
            server.url, "/bench/bare", offer_id, "open", args.duration, 256, args.rate
        )
        healthz = wrk_healthz(server.url, args.duration)
    finally:
        server.stop()
    return name, bare, orders, fixed, healthz, fixed_bare


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--configs", default="embedded,redis-pg")
    parser.add_argument("--ledger", choices=("on", "off", "both"), default="on")
    # The second server of a pair runs on a warmer, busier machine: run both orders.
    parser.add_argument("--ledger-first", choices=("on", "off"), default="on")
    args = parser.parse_args()
    rows, pairs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, env, cleanup in configs(args.configs.split(","), tmp):
            try:
                measured = {}
                both = [True, False] if args.ledger_first == "on" else [False, True]
                for ledger in {"on": [True], "off": [False], "both": both}[args.ledger]:
                    label = name if ledger else f"{name}, no ledger"
                    # A fresh database per server, so both start from the same state.
                    db_env = dict(env)
                    if not ledger:
                        url = env["FARMLIVE_DATABASE_URL"]
                        db_env["FARMLIVE_DATABASE_URL"] = (
                            url.replace("bench.db", "bench-no-ledger.db")
                            if url.startswith("sqlite")
                            else f"{url}_nl"
                        )
                        if "FARMLIVE_REDIS_PREFIX" in env:
                            db_env["FARMLIVE_REDIS_PREFIX"] = env["FARMLIVE_REDIS_PREFIX"] + "nl"
                    row = measure(label, db_env, tmp, args, ledger=ledger)
                    rows.append(row)
                    measured[ledger] = {"orders": row[2], "fixed": row[3]}
                if len(measured) == 2:
                    pairs.append((name, measured[True], measured[False]))
            finally:
                if cleanup:
                    asyncio.run(cleanup())
    report(rows, args.rate)
    if pairs:
        report_ledger(pairs)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), ledger="--no-ledger" not in sys.argv)
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        url, path, offer, mode, rate, duration, conns = sys.argv[2:9]
        print(
            json.dumps(
                asyncio.run(
                    load(url, path, int(offer), mode, float(rate), float(duration), int(conns))
                )
            )
        )
    else:
        raise SystemExit(main())
