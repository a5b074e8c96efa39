"""Soak test: two `farmlive serve` instances on one Redis and one PostgreSQL, under a
moderate mixed load for a fixed time, watching memory and the stock invariants.

    python -m bench.soak [--minutes 10] [--order-rate 50] [--chat-rate 20] [--viewers 100]

What it does, on loopback only, bounded in time, stopping by itself:
- creates a fresh PostgreSQL database and a unique Redis key prefix, seeds the demo and
  starts two `farmlive serve` processes sharing them, with every abuse limit ON at its
  default (per-address rate limits, hold budgets per address and per device, short holds
  near sell-out) behind a trusted proxy (`FARMLIVE_TRUSTED_PROXIES=127.0.0.1`), so each
  simulated client carries its own address in `X-Forwarded-For`;
- a live session selling a lot far too big to sell out;
- for `--minutes`: orders at a fixed rate (COD and bank transfer mixed, alternating
  instances) from a population of real buyers: each its own phone, `--buyers-per-address`
  of them behind one address (a family or a village behind a carrier NAT), and a
  `--repeat-share` of orders from a buyer ordering again with the device cookie the first
  order handed out; one hoarder farming holds with made-up phones from one address;
  staff confirming and cancelling some of them, `--viewers` WebSocket viewers
  spread over both instances chatting at `--chat-rate` lines/s in total and reconnecting
  (churn: about `--churn` reconnects a second);
- samples each server's RSS (VmRSS) every `--sample` seconds.
At the end it prints the RSS curve and checks: no real buyer refused (every buyer's order
answered 201) while the hoarder was refused (the limits were really on); every 201 order
is readable from SQL with its token; per lot `available + held + sold == stock` on both instances' stats, equal on
both; memory flat (growth from minute 2 to the end < 10 % or < 20 MB); no failed
request. Then it stops the servers by their pids, drops the database and deletes the
Redis keys. Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.httpload import Connection, run_requests  # noqa: E402
from bench.orders import PG_ADMIN, seed_demo, set_up  # noqa: E402
from tests.e2e.procs import Server, farmlive_env  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/3"
PASSWORD = "farmlive-demo"
BANK_SHARE = 0.3  # of orders paid by bank transfer; the rest COD
CONFIRM_EVERY = 8  # one order in 8 confirmed by staff
CANCEL_EVERY = 20  # one order in 20 cancelled by staff


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def order_body(offer_id: int, i: int, method: str, quantity: int | None = None) -> bytes:
    return json.dumps(
        {
            "offer_id": offer_id,
            "quantity": quantity or 1 + i % 3,
            "buyer": {
                "name": f"Người mua {i}",
                "phone": f"09{i % 100_000_000:08d}",
                "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": f"Số {i}"},
            },
            "payment_method": method,
        }
    ).encode()


def fake_address(n: int, net: int) -> str:
    """A distinct private IPv4 address for client group `n` (10.net.x.y)."""
    return f"10.{net}.{(n >> 8) & 255}.{n & 255}"


@dataclass
class Buyers:
    """Who places each order: mostly new buyers, some returning with their device cookie.

    Buyer `b` sits behind address `b // per_address` (carrier NATs put families and
    villages behind one public address), orders with phone 09<base + b>, and keeps the
    `fl_device` cookie its first order was given, as a phone's browser does.
    """

    per_address: int
    repeat_share: float
    rng: random.Random
    cookies: dict[int, str] = field(default_factory=dict)  # may still come back
    returning: dict[int, str] = field(default_factory=dict)  # came back, with this cookie
    count: int = 0

    def pick(self) -> int:
        """A returning buyer orders once more (then is done), anyone else is new."""
        if self.cookies and self.rng.random() < self.repeat_share:
            buyer = self.rng.choice(list(self.cookies))
            self.returning[buyer] = self.cookies.pop(buyer)
            return buyer
        self.count += 1
        return self.count - 1

    def headers(self, buyer: int) -> dict[str, str]:
        headers = {"X-Forwarded-For": fake_address(buyer // self.per_address, 1)}
        if buyer in self.returning:
            headers["Cookie"] = self.returning[buyer]
        return headers

    def remember(self, buyer: int, set_cookies: list[str]) -> None:
        if buyer in self.returning:
            return
        for value in set_cookies:
            if value.startswith("fl_device="):
                self.cookies[buyer] = value.split(";", 1)[0]


@dataclass
class Tally:
    orders_ok: int = 0
    order_statuses: Counter[int] = field(default_factory=Counter)
    order_errors: Counter[str] = field(default_factory=Counter)
    hoarder_statuses: Counter[int] = field(default_factory=Counter)
    orders_offered: int = 0
    refusals: list[str] = field(default_factory=list)
    placed: list[tuple[str, str]] = field(default_factory=list)  # (id, token)
    staff: Counter[str] = field(default_factory=Counter)  # "confirm 200", ...
    chat_sent: int = 0
    chat_seen: int = 0
    ws_connects: int = 0
    ws_failures: Counter[str] = field(default_factory=Counter)
    ws_messages: Counter[str] = field(default_factory=Counter)
    ws_errors: Counter[str] = field(default_factory=Counter)


class Pool:
    """Keep-alive connections to one server, handed out one request at a time."""

    def __init__(self, url: str, size: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(size):
            self.idle.put_nowait(Connection(host, int(port)))

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Any:
        conn = await self.idle.get()
        try:
            try:
                return await conn.request(method, path, body, headers)
            except ConnectionError:
                # The server closed an idle keep-alive connection (FARMLIVE_HTTP_KEEP_ALIVE_S)
                # before this request reached it; like any HTTP client, retry once on a new
                # one. Orders carry an Idempotency-Key, staff moves are idempotent.
                await conn.close()
                return await conn.request(method, path, body, headers)
        except BaseException:
            await conn.close()
            raise
        finally:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()


async def order_load(
    pools: list[Pool],
    sid: int,
    offer_id: int,
    staff: list[dict[str, str]],
    rate: float,
    stop_at: float,
    tally: Tally,
    buyers: Buyers,
) -> None:
    """Open loop: order i is sent at start + i/rate whatever happened to the others."""
    tasks: set[asyncio.Task[None]] = set()
    rng = random.Random(1)
    base = rng.randrange(10**6) * 1000

    async def one(i: int) -> None:
        method = "bank_transfer" if rng.random() < BANK_SHARE else "cod"
        pool = pools[i % len(pools)]
        buyer = buyers.pick()
        try:
            r = await pool.request(
                "POST",
                f"/api/sessions/{sid}/orders",
                order_body(offer_id, base + buyer, method),
                {"Idempotency-Key": uuid.uuid4().hex} | buyers.headers(buyer),
            )
        except Exception as exc:
            tally.order_errors[type(exc).__name__] += 1
            return
        tally.order_statuses[r.status] += 1
        if r.status != 201:
            if len(tally.refusals) < 5:
                tally.refusals.append(f"buyer {buyer}: {r.status} {r.body[:200]!r}")
            return
        buyers.remember(buyer, r.cookies)
        tally.orders_ok += 1
        order = r.json()
        tally.placed.append((order["id"], order["token"]))
        action = (
            "confirm" if i % CONFIRM_EVERY == 0 else "cancel" if i % CANCEL_EVERY == 1 else None
        )
        if action is None:
            return
        # Staff act a moment later, on the other instance, as host or moderator.
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        other = pools[(i + 1) % len(pools)]
        try:
            s = await other.request(
                "POST", f"/api/orders/{order['id']}/{action}", b"", staff[i % len(staff)]
            )
            tally.staff[f"{action} {s.status}"] += 1
        except Exception as exc:
            tally.staff[f"{action} {type(exc).__name__}"] += 1

    start = time.monotonic()
    i = 0
    while True:
        scheduled = start + i / rate
        if scheduled >= stop_at:
            break
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    tally.orders_offered = i
    if tasks:
        await asyncio.wait(tasks, timeout=30)


async def hoarder(pools: list[Pool], offer_id: int, sid: int, stop_at: float, tally: Tally) -> None:
    """Finding #1 of the abuse issue, kept running: one address placing the largest unpaid
    bank-transfer order every second with a made-up phone each time. The hold budget must
    refuse it soon after its first orders; a soak that never refuses it had its limits off."""
    rng = random.Random(7)
    i = 0
    while time.monotonic() < stop_at:
        i += 1
        try:
            r = await pools[i % len(pools)].request(
                "POST",
                f"/api/sessions/{sid}/orders",
                order_body(offer_id, rng.randrange(10**8), "bank_transfer", quantity=10),
                {"Idempotency-Key": uuid.uuid4().hex, "X-Forwarded-For": "10.250.0.1"},
            )
            tally.hoarder_statuses[r.status] += 1
        except Exception as exc:
            tally.order_errors[f"hoarder {type(exc).__name__}"] += 1
        await asyncio.sleep(1.0)


async def viewer(
    n: int,
    ws_urls: list[str],
    chat_interval: float,
    lifetime: float,
    stop_at: float,
    tally: Tally,
) -> None:
    """One viewer: connect, say hello, chat every `chat_interval` s, reconnect after about
    `lifetime` s (to the other instance), until `stop_at`; reads everything it is sent."""
    import websockets

    rng = random.Random(n)
    attempt = 0
    await asyncio.sleep(rng.uniform(0, min(5.0, chat_interval)))
    while time.monotonic() < stop_at:
        url = ws_urls[(n + attempt) % len(ws_urls)]
        attempt += 1
        leave_at = min(stop_at, time.monotonic() + rng.uniform(0.5, 1.5) * lifetime)
        try:
            async with websockets.connect(
                url,
                open_timeout=10,
                close_timeout=2,
                additional_headers={"X-Forwarded-For": fake_address(n // 4, 2)},
            ) as ws:
                tally.ws_connects += 1

                async def read(ws: Any = ws) -> None:
                    async for raw in ws:
                        msg = json.loads(raw)
                        kind = msg.get("type", "?")
                        tally.ws_messages[kind] += 1
                        if kind == "error":
                            tally.ws_errors[msg.get("code", "?")] += 1

                reader = asyncio.create_task(read())
                await ws.send(json.dumps({"type": "hello", "name": f"Khách {n}"}))
                next_chat = time.monotonic() + rng.uniform(0, chat_interval)
                while True:
                    now = time.monotonic()
                    if reader.done():
                        break
                    if now >= leave_at:
                        break
                    if now >= next_chat:
                        text = f"Còn hàng không shop ơi? #{n}-{tally.chat_sent}"
                        await ws.send(json.dumps({"type": "chat", "text": text}))
                        tally.chat_sent += 1
                        next_chat += chat_interval
                    await asyncio.sleep(max(0.0, min(next_chat, leave_at) - time.monotonic()))
                reader.cancel()
                try:
                    await reader
                except (asyncio.CancelledError, Exception) as exc:
                    if not isinstance(exc, asyncio.CancelledError):
                        tally.ws_failures[type(exc).__name__] += 1
        except Exception as exc:
            tally.ws_failures[type(exc).__name__] += 1
            await asyncio.sleep(1)


async def sampler(
    servers: list[Server],
    every: float,
    stop_at: float,
    start: float,
    tally: Tally,
    rows: list[tuple[float, int, int, int, int, int]],
) -> None:
    while True:
        now = time.monotonic()
        pids = [s.proc.pid for s in servers if s.proc is not None]
        a, b = (rss_kb(p) for p in pids)
        rows.append((now - start, a, b, tally.orders_ok, tally.chat_sent, tally.ws_connects))
        print(
            f"  t={now - start:6.0f}s  RSS A {a / 1024:7.1f} MB  RSS B {b / 1024:7.1f} MB  "
            f"orders {tally.orders_ok:7d}  chat {tally.chat_sent:6d}  "
            f"ws connects {tally.ws_connects:6d}",
            flush=True,
        )
        if now >= stop_at:
            return
        await asyncio.sleep(min(every, max(0.0, stop_at - time.monotonic())))


async def soak(
    servers: list[Server], sid: int, offer_id: int, args: argparse.Namespace
) -> tuple[Tally, list[tuple[float, int, int, int, int, int]]]:
    tally = Tally()
    rows: list[tuple[float, int, int, int, int, int]] = []
    urls = [s.url for s in servers]
    staff = [
        token(urls[0], "host@farmlive.local"),
        token(urls[0], "mod@farmlive.local"),
    ]
    assign_moderator(urls[0], sid, host=staff[0], moderator=staff[1])
    pools = [Pool(u, 32) for u in urls]
    ws_urls = [f"ws://127.0.0.1:{s.port}/ws/sessions/{sid}" for s in servers]
    start = time.monotonic()
    stop_at = start + args.minutes * 60
    chat_interval = args.viewers / args.chat_rate
    lifetime = args.viewers / args.churn
    try:
        await asyncio.gather(
            sampler(servers, args.sample, stop_at, start, tally, rows),
            order_load(
                pools,
                sid,
                offer_id,
                staff,
                args.order_rate,
                stop_at,
                tally,
                Buyers(args.buyers_per_address, args.repeat_share, random.Random(3)),
            ),
            hoarder(pools, offer_id, sid, stop_at, tally),
            *[
                viewer(n, ws_urls, chat_interval, lifetime, stop_at, tally)
                for n in range(args.viewers)
            ],
        )
    finally:
        for p in pools:
            await p.close()
    return tally, rows


def assign_moderator(url: str, sid: int, host: dict[str, str], moderator: dict[str, str]) -> None:
    """Moderators act only on sessions they are assigned to: the host assigns this one."""
    mod_id = httpx.get(f"{url}/api/auth/me", headers=moderator, timeout=10).json()["id"]
    httpx.post(
        f"{url}/api/sessions/{sid}/moderators", headers=host, json={"user_id": mod_id}, timeout=10
    ).raise_for_status()


def token(url: str, email: str) -> dict[str, str]:
    r = httpx.post(
        f"{url}/api/auth/token", data={"username": email, "password": PASSWORD}, timeout=10
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def check_orders(urls: list[str], placed: list[tuple[str, str]]) -> list[str]:
    """Every 201 order is readable from SQL with its token (half on each instance)."""
    problems: list[str] = []
    for u, url in enumerate(urls):
        mine = placed[u :: len(urls)]
        responses = await run_requests(
            url,
            [("GET", f"/api/orders/{oid}?token={tok}", b"", {}) for oid, tok in mine],
            connections=16,
        )
        for (oid, _), r in zip(mine, responses, strict=True):
            if isinstance(r, BaseException):
                problems.append(f"{oid}: {type(r).__name__}")
            elif r.status != 200 or (r.json() or {}).get("id") != oid:
                problems.append(f"{oid}: HTTP {r.status}")
    return problems


def check_stats(urls: list[str], sid: int) -> tuple[bool, bool, list[str]]:
    """(sums hold on both, both instances equal, lines to print). Holds expire as time
    goes on, so a difference between the two reads is retried a few times."""
    lines: list[str] = []
    sums_ok = equal = False
    for _ in range(10):
        lots = [httpx.get(f"{u}/api/sessions/{sid}/stats", timeout=10).json()["lots"] for u in urls]
        lines = []
        sums_ok = True
        for name, ls in zip("AB", lots, strict=False):
            for lot in ls:
                s = lot["available_grams"] + lot["held_grams"] + lot["sold_grams"]
                ok = s == lot["stock_grams"]
                sums_ok &= ok
                lines.append(
                    f"  {name} lot {lot['id']}: available {lot['available_grams']} + held "
                    f"{lot['held_grams']} + sold {lot['sold_grams']} = {s} "
                    f"{'==' if ok else '!='} stock {lot['stock_grams']}"
                )
        equal = all(ls == lots[0] for ls in lots)
        if sums_ok and equal:
            break
        time.sleep(0.5)
    return sums_ok, equal, lines


def judge_memory(
    rows: list[tuple[float, int, int, int, int, int]], from_s: float
) -> tuple[bool, list[str]]:
    base = next((r for r in rows if r[0] >= from_s), rows[0])
    last = rows[-1]
    ok = True
    lines = []
    for name, col in (("A", 1), ("B", 2)):
        growth_mb = (last[col] - base[col]) / 1024
        pct = 100 * (last[col] - base[col]) / base[col] if base[col] else 0.0
        flat = pct < 10 or growth_mb < 20
        ok &= flat
        lines.append(
            f"  RSS {name}: {base[col] / 1024:.1f} MB at t={base[0]:.0f}s -> "
            f"{last[col] / 1024:.1f} MB at t={last[0]:.0f}s: {growth_mb:+.1f} MB ({pct:+.1f} %) "
            f"-> {'flat' if flat else 'GROWING'}"
        )
    return ok, lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--order-rate", type=float, default=50.0, help="orders/s in total")
    parser.add_argument("--chat-rate", type=float, default=20.0, help="chat lines/s in total")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--churn", type=float, default=3.0, help="reconnects/s, about")
    parser.add_argument("--sample", type=float, default=15.0, help="RSS sampling period, s")
    parser.add_argument("--hold-seconds", type=int, default=60, help="bank-transfer hold")
    parser.add_argument("--buyers-per-address", type=int, default=4)
    parser.add_argument(
        "--repeat-share", type=float, default=0.1, help="orders from returning buyers"
    )
    args = parser.parse_args()

    import asyncpg
    import redis

    db = f"soak_{uuid.uuid4().hex[:8]}"
    prefix = f"soak{uuid.uuid4().hex[:8]}"
    servers: list[Server] = []
    checks: list[tuple[str, bool, str]] = []

    async def pg(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(pg(f'CREATE DATABASE "{db}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = farmlive_env(
                FARMLIVE_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1/{db}",
                FARMLIVE_REDIS_URL=REDIS_URL,
                FARMLIVE_REDIS_PREFIX=prefix,
                FARMLIVE_TRUSTED_PROXIES="127.0.0.1",
                FARMLIVE_SECRET_KEY="soak-" + uuid.uuid4().hex,
                FARMLIVE_HOLD_SECONDS=str(args.hold_seconds),
                FARMLIVE_LOG_LEVEL="warning",
            )
            seed_demo(env, tmp)
            for _ in range(2):
                servers.append(Server(cwd=Path(tmp), env=env).start())
            urls = [s.url for s in servers]
            sid, offer_id = set_up(urls[0])
            print(
                f"soak: {args.minutes:g} min, servers A={urls[0]} (pid {servers[0].proc.pid})"  # type: ignore[union-attr]
                f" B={urls[1]} (pid {servers[1].proc.pid}), PostgreSQL {db}, "  # type: ignore[union-attr]
                f"Redis prefix {prefix}; {args.order_rate:g} orders/s "
                f"({int(BANK_SHARE * 100)} % bank transfer), {args.chat_rate:g} chat/s, "
                f"{args.viewers} viewers, ~{args.churn:g} reconnects/s",
                flush=True,
            )
            started = time.monotonic()
            tally, rows = asyncio.run(soak(servers, sid, offer_id, args))
            elapsed = time.monotonic() - started

            for s in servers:
                if s.proc is None or s.proc.poll() is not None:
                    checks.append(("servers alive", False, f"{s.url} exited"))
            print("\nRSS curve")
            print(
                f"{'time':>7} {'RSS A MB':>9} {'RSS B MB':>9} {'orders done':>12} "
                f"{'chat lines':>11} {'ws connects':>12}"
            )
            for t, a, b, o, c, w in rows:
                print(f"{t:6.0f}s {a / 1024:9.1f} {b / 1024:9.1f} {o:12d} {c:11d} {w:12d}")

            print(
                f"\nload: {tally.orders_ok} orders created in {elapsed:.0f}s "
                f"({tally.orders_ok / elapsed:.1f}/s); statuses {dict(tally.order_statuses)}"
                f"{'; errors ' + str(dict(tally.order_errors)) if tally.order_errors else ''}"
            )
            print(f"hoarder (one address, made-up phones): {dict(tally.hoarder_statuses)}")
            print(f"staff actions: {dict(tally.staff)}")
            print(
                f"chat: {tally.chat_sent} lines sent ({tally.chat_sent / elapsed:.1f}/s); "
                f"ws connects {tally.ws_connects} ({tally.ws_connects / elapsed:.1f}/s); "
                f"ws failures {dict(tally.ws_failures)}; errors from server "
                f"{dict(tally.ws_errors)}"
            )
            print(f"messages received by viewers: {dict(tally.ws_messages)}")

            missing = asyncio.run(check_orders(urls, tally.placed))
            checks.append(
                (
                    "every 201 order is in SQL",
                    not missing and bool(tally.placed),
                    f"{len(tally.placed) - len(missing)}/{len(tally.placed)} readable"
                    + (f"; e.g. {missing[:3]}" if missing else ""),
                )
            )
            sums_ok, equal, lines = check_stats(urls, sid)
            print("\nstock per lot (stats endpoint)")
            print("\n".join(lines))
            checks.append(("available + held + sold == stock", sums_ok, "on both instances"))
            checks.append(("stats equal on both instances", equal, ""))
            failed = sum(v for k, v in tally.order_statuses.items() if k != 201)
            failed += sum(tally.order_errors.values())
            answered = sum(tally.order_statuses.values()) + sum(
                v for k, v in tally.order_errors.items() if not k.startswith("hoarder")
            )
            checks.append(
                (
                    "the offered load was carried (every order answered by 30 s after the end)",
                    answered == tally.orders_offered,
                    f"{answered}/{tally.orders_offered} answered",
                )
            )
            checks.append(
                (
                    "no real buyer refused (every order answered 201)",
                    failed == 0,
                    f"{failed} failed of {tally.orders_ok}"
                    + (f"; e.g. {tally.refusals}" if tally.refusals else ""),
                )
            )
            hoarded = tally.hoarder_statuses
            # 50 kg an order against a 100 kg budget per window: two per window, at most.
            windows = 1 + int(args.minutes * 60 // 900)
            checks.append(
                (
                    "limits on: the hoarder was refused",
                    hoarded.get(429, 0) > 0 and hoarded.get(201, 0) <= 2 * windows + 1,
                    f"{hoarded.get(201, 0)} orders held, {hoarded.get(429, 0)} refused (429)",
                )
            )
            staff_bad = {k: v for k, v in tally.staff.items() if not k.endswith(" 200")}
            checks.append(("staff confirms/cancels 200", not staff_bad, str(staff_bad or "")))
            chat_seen = tally.ws_messages.get("chat", 0)
            checks.append(
                (
                    "chat delivered",
                    chat_seen > 0 and not tally.ws_errors,
                    f"{chat_seen} chat events received; server errors {dict(tally.ws_errors)}",
                )
            )
            from_s = 120.0 if args.minutes * 60 > 240 else args.minutes * 60 / 2
            mem_ok, mem_lines = judge_memory(rows, from_s)
            print(f"\nmemory (growth from t={from_s:.0f}s to the end)")
            print("\n".join(mem_lines))
            checks.append(("memory flat (< 10 % or < 20 MB)", mem_ok, ""))
    finally:
        for s in servers:
            s.stop()
        asyncio.run(pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS_URL)
        deleted = 0
        for k in client.scan_iter(match=f"{prefix}*", count=1000):
            deleted += client.delete(k)
        client.close()
        print(f"\ncleanup: servers stopped, database {db} dropped, {deleted} Redis keys deleted")

    print()
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {name}{' — ' + detail if detail else ''}")
    verdict = all(ok for _, ok, _ in checks)
    print(f"\nSOAK {'PASS' if verdict else 'FAIL'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    raise SystemExit(main())
