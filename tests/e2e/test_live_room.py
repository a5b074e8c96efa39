"""The live room on real `farmlive serve` processes: two instances on Redis + PostgreSQL,
and the embedded default (one process, SQLite, in-memory hub)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.procs import Server, farmlive_env
from tests.e2e.shop_client import Sale, order_body, set_up_sale, stats, token
from tests.server.live_helpers import Peer

pytestmark = pytest.mark.slow

ORDERS = 40
ORDER_EVERY_S = 0.05
XSS = "<img src=x onerror=alert(1)>"


def ws_url(server: Server, sid: int) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/sessions/{sid}"


@dataclass
class Watcher:
    """A viewer whose events are read as they come, each stamped with its arrival time."""

    peer: Peer
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _pump(self) -> None:
        with suppress(ConnectionClosed):
            async for raw in self.peer.ws:
                self.events.append((time.monotonic(), json.loads(raw)))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for _, e in self.events if e["type"] == kind]

    async def until(self, kind: str, where: Any = lambda e: True, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.of(kind) if where(e)]
            if found:
                return found[0]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {kind} event within {timeout}s: {self.events[-3:]}")


@asynccontextmanager
async def watching(url: str, name: str | None = None) -> AsyncIterator[Watcher]:
    peer = await Peer.open(url)
    watcher = Watcher(peer)
    watcher.task = asyncio.create_task(watcher._pump())
    try:
        await watcher.until("snapshot")
        if name:
            await peer.send(type="hello", name=name)
            await watcher.until("hello")
        yield watcher
    finally:
        await peer.close()
        await watcher.task


async def place_orders(url: str, sale: Sale) -> list[tuple[float, int]]:
    """ORDERS orders one after another at a steady pace: (time answered, grams so far)."""
    placed: list[tuple[float, int]] = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for i in range(ORDERS):
            body = order_body(sale.offer_id, i)
            body["buyer"]["name"] = "Chị Hoa"
            r = await client.post(
                f"/api/sessions/{sale.sid}/orders",
                json=body,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            assert r.status_code == 201, r.text
            placed.append((time.monotonic(), (i + 1) * 5000))
            await asyncio.sleep(ORDER_EVERY_S)
    return placed


def stock_latencies(watcher: Watcher, placed: list[tuple[float, int]]) -> list[float]:
    """For each order: until the first `stock` on this viewer counting its grams."""
    stock = [(t, e) for t, e in watcher.events if e["type"] == "stock"]
    latencies = []
    for answered, grams in placed:
        seen = next(t for t, e in stock if e["sold_grams"] + e["held_grams"] >= grams)
        latencies.append(max(0.0, seen - answered))
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def assert_seq_grows(watcher: Watcher) -> None:
    snapshot = watcher.of("snapshot")[0]
    last = {lot["lot_id"]: lot["seq"] for lot in snapshot["lots"]}
    for event in watcher.of("stock"):
        assert event["seq"] > last.get(event["lot_id"], 0), "seq went backwards"
        last[event["lot_id"]] = event["seq"]


async def final_stock_equals_stats(watchers: list[Watcher], url: str, sale: Sale) -> None:
    figures = stats(url, sale.sid)
    [lot] = figures["lots"]
    assert lot["sold_grams"] == ORDERS * 5000
    for watcher in watchers:
        final = await watcher.until("stock", lambda e: e["sold_grams"] == lot["sold_grams"])
        assert watcher.of("stock")[-1] == final
        assert (final["held_grams"], final["available_grams"]) == (
            lot["held_grams"],
            lot["available_grams"],
        )


async def live_sale(a: Server, b: Server) -> Sale:
    """Orders on A, viewers on B and A: prompt monotonic stock, chat and pin across."""
    sale = set_up_sale(a.url, 1000)
    async with (
        watching(ws_url(b, sale.sid), "Anh Ba") as on_b,
        watching(ws_url(a, sale.sid), "Chị Hoa") as on_a,
    ):
        placed = await place_orders(a.url, sale)
        await final_stock_equals_stats([on_b, on_a], b.url, sale)
        latencies = stock_latencies(on_b, placed)
        print(
            f"stock on B after orders on A: p50 {percentile(latencies, 0.5):.3f}s"
            f" p95 {percentile(latencies, 0.95):.3f}s max {max(latencies):.3f}s"
            f" over {len(latencies)}"
        )
        # Prompt: one coalescer slot (0.2 s) plus the hop to B for nearly every order. The
        # slowest of 40 is one scheduling hiccup of a shared CI box (0.60 s seen once
        # beside 0.18-0.37 s), so it gets the retry's room, not the slot's; a stock that
        # were left to the outbox's once-a-second drain would miss the 95th percentile.
        assert percentile(latencies, 0.95) <= 0.5
        assert max(latencies) <= 1.0
        assert len(on_b.of("stock")) <= 5 * (placed[-1][0] - placed[0][0]) + 4
        assert_seq_grows(on_b)
        assert_seq_grows(on_a)
        assert on_b.of("order")[0]["text"] == "Chị H. · Bắc Ninh vừa mua 5 kg"

        await on_a.peer.send(type="chat", text=f"Vải ngon {XSS}")
        line = await on_b.until("chat", lambda e: e["name"] == "Chị Hoa")
        assert line["text"] == f"Vải ngon {XSS}"
        await on_b.peer.send(type="chat", text="Ship về Hà Nội không shop?")
        assert (await on_a.until("chat", lambda e: e["name"] == "Anh Ba"))["text"] == (
            "Ship về Hà Nội không shop?"
        )

        host = token(a.url, "host@farmlive.local")
        async with httpx.AsyncClient(base_url=a.url, headers=host) as studio:
            r = await studio.post(f"/api/sessions/{sale.sid}/pin", json={"offer_id": sale.offer_id})
        assert r.status_code == 200
        assert (await on_b.until("pin"))["offer_id"] == sale.offer_id
    return sale


async def stalled_reader_is_dropped(url: str, sid: int, flood: Any) -> None:
    """A viewer that stops reading is closed with 4000 while events keep coming."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    staller = await Peer.open(url, sock=sock, max_queue=1)
    await staller.expect("snapshot")
    await flood()
    assert (await staller.closed_with(timeout=8))[0] == 4000


def test_live_room_across_two_instances(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    """Two instances on Redis + PostgreSQL behave as one live room."""
    redis_url, prefix = redis_prefix
    env = farmlive_env(
        FARMLIVE_DATABASE_URL=pg_database,
        FARMLIVE_REDIS_URL=redis_url,
        FARMLIVE_REDIS_PREFIX=prefix,
        FARMLIVE_SECRET_KEY="shared-secret-for-two-instances",
        FARMLIVE_LIVE_SEND_BUFFER_BYTES="65536",
        FARMLIVE_RATE_LIMITS="off",  # place_orders: 40 orders at 20/s from one address
    )

    async def scenario(a: Server, b: Server) -> None:
        sid = (await live_sale(a, b)).sid

        async def flood_from_another_instance() -> None:
            # What instance A would publish: straight onto the session's Redis channel.
            client = Redis.from_url(redis_url)
            filler = json.dumps({"type": "chat", "id": "0-0", "name": "x", "text": "x" * 1000})
            for _ in range(1200):
                await client.publish(f"{prefix}:live-ch:{sid}:all", filler)
            await client.aclose()

        await stalled_reader_is_dropped(ws_url(b, sid), sid, flood_from_another_instance)

    with Server(tmp_path, env, ("--demo",)) as a, Server(tmp_path, env) as b:
        asyncio.run(scenario(a, b))


def test_live_room_on_the_embedded_default(tmp_path: Path) -> None:
    """One process, no Redis: the same room; a flooder is cut off, foreign origins refused."""
    env = farmlive_env(FARMLIVE_RATE_LIMITS="off")  # place_orders: 20/s from one address

    async def scenario(server: Server) -> None:
        sid = (await live_sale(server, server)).sid
        url = ws_url(server, sid)
        with pytest.raises(InvalidStatus) as refused:
            await Peer.open(url, origin="https://evil.example")
        assert refused.value.response.status_code == 403
        async with watching(url, "Spam") as flooder, watching(url, "Chị Hoa") as calm:
            frames = [json.dumps({"type": "chat", "text": f"spam {i}"}) for i in range(1000)]
            started = time.monotonic()
            with suppress(ConnectionClosed):
                for frame in frames:  # as fast as the socket takes them
                    await flooder.peer.ws.send(frame)
            await calm.peer.send(type="chat", text="chốt 1 thùng 5kg")
            mine = await calm.until("chat", lambda e: e["name"] == "Chị Hoa", timeout=2)
            assert mine["text"] == "chốt 1 thùng 5kg"
            assert time.monotonic() - started < 2.0
            await flooder.task
            assert flooder.peer.ws.close_code == 4029

    with Server(tmp_path, env, ("--demo",)) as server:
        asyncio.run(scenario(server))
