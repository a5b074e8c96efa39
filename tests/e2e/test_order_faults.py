"""Fault tests for the order path: Redis killed, flushed, an app instance killed mid-sale."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.faults import OwnRedis, gate_state, lot_stats, wait_until
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.shop_client import Sale, place_many, set_up_sale

pytestmark = pytest.mark.slow

PREFIX = "fault"


def env_for(pg_database: str, redis: OwnRedis, **extra: str) -> dict[str, str]:
    return farmlive_env(
        FARMLIVE_DATABASE_URL=pg_database,
        FARMLIVE_REDIS_URL=redis.url,
        FARMLIVE_REDIS_PREFIX=PREFIX,
        FARMLIVE_SECRET_KEY="fault-test-secret",
        FARMLIVE_RATE_LIMITS="off",
        **extra,
    )


def assert_consistent(
    url: str, redis: OwnRedis, sale: Sale, results: list[tuple[int, dict]]
) -> dict:
    """Every 201 is in SQL; SQL and Redis agree; available + held + sold == stock."""
    created = {body["id"] for code, body in results if code in (200, 201)}

    def agreed() -> dict | None:
        lot = lot_stats(url, sale.sid, sale.lot_id)
        stock, sold, held = asyncio.run(gate_state(redis.url, PREFIX, sale.lot_id))
        if (stock, sold, held) != (lot["stock_grams"], lot["sold_grams"], lot["held_grams"]):
            return None
        return lot

    lot = wait_until(agreed, timeout=30)
    assert lot["available_grams"] + lot["held_grams"] + lot["sold_grams"] == lot["stock_grams"]
    assert 0 <= lot["sold_grams"] <= lot["stock_grams"]
    assert lot["sold_grams"] == 5000 * len(created)  # COD: every 201 is a sold 5 kg box
    return lot


async def load_with_fault(
    urls: list[str], sale: Sale, count: int, fault, after_sold_grams: int
) -> list:
    """Run `count` orders; once `after_sold_grams` are sold, run `fault` (in a thread)."""
    load = asyncio.create_task(place_many(urls, sale, count, retries=40))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not load.done():
        lot = await asyncio.to_thread(lot_stats, urls[0], sale.sid, sale.lot_id)
        if lot["sold_grams"] >= after_sold_grams:
            break
        await asyncio.sleep(0.05)
    assert not load.done(), "the fault must land mid-sale"
    await asyncio.to_thread(fault)
    return await load


def test_redis_killed_and_restarted_mid_sale(tmp_path: Path, pg_database: str) -> None:
    """SIGKILL Redis mid-sale and restart it: orders get 503 meanwhile, then the gate is rebuilt."""
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        with Server(tmp_path, env_for(pg_database, redis), ("--demo",)) as app:
            sale = set_up_sale(app.url, 600)

            def crash_and_restart() -> None:
                redis.kill()
                time.sleep(0.5)
                redis.start()

            results = asyncio.run(load_with_fault([app.url], sale, 800, crash_and_restart, 200_000))
            assert not [r for r in results if r[0] not in (201, 409)], (
                "every order ends 201 or sold out"
            )
            lot = assert_consistent(app.url, redis, sale, results)
            assert lot["sold_grams"] == sale.stock_grams
            assert httpx.get(f"{app.url}/readyz").status_code == 200
    finally:
        redis.kill()


def test_redis_flushed_mid_sale(tmp_path: Path, pg_database: str) -> None:
    """FLUSHALL mid-sale: the lost gate is noticed and rebuilt from SQL; nothing oversells."""
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        with Server(tmp_path, env_for(pg_database, redis), ("--demo",)) as app:
            sale = set_up_sale(app.url, 600)
            results = asyncio.run(load_with_fault([app.url], sale, 800, redis.flushall, 200_000))
            assert not [r for r in results if r[0] not in (201, 409)]
            lot = assert_consistent(app.url, redis, sale, results)
            assert lot["sold_grams"] == sale.stock_grams
    finally:
        redis.kill()


def test_app_instance_killed_mid_load(tmp_path: Path, pg_database: str) -> None:
    """SIGKILL one of two instances mid-load: no 201 is lost and its orphan holds expire."""
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        env = env_for(pg_database, redis, FARMLIVE_HOLD_SECONDS="10")
        with Server(tmp_path, env, ("--demo",)) as a, Server(tmp_path, env) as b:
            sale = set_up_sale(a.url, 2000)
            # Orders go to both; the ones that hit B after its death are retried on A.
            results = asyncio.run(load_with_fault([a.url, b.url], sale, 1500, b.kill, 150_000))
            assert not [r for r in results if r[0] not in (201, 200)]
            # Orphan holds (reserved by B, never committed) count until they expire.
            assert_consistent(a.url, redis, sale, results)
            lot = wait_until(
                lambda: (lot := lot_stats(a.url, sale.sid, sale.lot_id))["held_grams"] == 0 and lot,
                timeout=30,
            )
            stock, sold, held = asyncio.run(gate_state(redis.url, PREFIX, sale.lot_id))
            assert (sold, held) == (lot["sold_grams"], 0)
            assert stock == sold + lot["available_grams"]
    finally:
        redis.kill()
