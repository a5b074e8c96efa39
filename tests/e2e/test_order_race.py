"""The last box goes to exactly one buyer: races on real `farmlive serve` processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from shop.adapters.redis_gate import RedisGate
from shop.adapters.sql.tables import lots, orders
from tests.e2e.procs import Server, farmlive_env
from tests.e2e.shop_client import place_many, set_up_sale, stats

pytestmark = pytest.mark.slow

BOXES = 1000
BUYERS = 2000


async def sql_figures(database_url: str, lot_id: int) -> tuple[int, int, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            sold = (
                await conn.execute(select(lots.c.sold_grams).where(lots.c.id == lot_id))
            ).scalar_one()
            count = (
                await conn.execute(select(func.count()).where(orders.c.lot_id == lot_id))
            ).scalar_one()
            grams = (
                await conn.execute(
                    select(func.coalesce(func.sum(orders.c.grams), 0)).where(
                        orders.c.lot_id == lot_id
                    )
                )
            ).scalar_one()
        return int(sold), int(count), int(grams)
    finally:
        await engine.dispose()


async def redis_state(url: str, prefix: str, lot_id: int):
    gate = RedisGate.from_url(url, key_prefix=prefix)
    try:
        return await gate.snapshot(lot_id)
    finally:
        await gate.close()


def check_outcome(results: list[tuple[int, dict]]) -> None:
    codes = [code for code, _ in results]
    assert codes.count(201) == BOXES, {c: codes.count(c) for c in set(codes)}
    assert codes.count(409) == BUYERS - BOXES
    assert {body["error"]["code"] for code, body in results if code == 409} == {"sold_out"}


def test_race_two_instances_on_redis_and_postgres(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    """2,000 buyers, 1,000 boxes, two instances: exactly 1,000 orders; SQL, Redis, stats agree."""
    redis_url, prefix = redis_prefix
    env = farmlive_env(
        FARMLIVE_DATABASE_URL=pg_database,
        FARMLIVE_REDIS_URL=redis_url,
        FARMLIVE_REDIS_PREFIX=prefix,
        FARMLIVE_SECRET_KEY="shared-secret-for-two-instances",
        FARMLIVE_RATE_LIMITS="off",
    )
    with Server(tmp_path, env, ("--demo",)) as a, Server(tmp_path, env) as b:
        sale = set_up_sale(a.url, BOXES)
        results = asyncio.run(place_many([a.url, b.url], sale, BUYERS))
        check_outcome(results)
        sa, sb = stats(a.url, sale.sid), stats(b.url, sale.sid)
        assert sa == sb
        assert (sa["sold_grams"], sa["held_grams"], sa["available_grams"]) == (
            sale.stock_grams,
            0,
            0,
        )
        assert sa["orders_count"] == BOXES
        sold, count, grams = asyncio.run(sql_figures(pg_database, sale.lot_id))
        assert (sold, count, grams) == (sale.stock_grams, BOXES, sale.stock_grams)
        state = asyncio.run(redis_state(redis_url, prefix, sale.lot_id))
        assert (state.stock_grams, state.sold_grams, state.held_grams, state.available_grams) == (
            sale.stock_grams,
            sale.stock_grams,
            0,
            0,
        )


def test_race_on_the_embedded_default(tmp_path: Path) -> None:
    """The same race on one process with SQLite and the in-memory gate."""
    with Server(tmp_path, farmlive_env(FARMLIVE_RATE_LIMITS="off"), ("--demo",)) as server:
        sale = set_up_sale(server.url, BOXES)
        results = asyncio.run(place_many([server.url], sale, BUYERS))
        check_outcome(results)
        s = stats(server.url, sale.sid)
        assert (s["sold_grams"], s["held_grams"], s["available_grams"], s["orders_count"]) == (
            sale.stock_grams,
            0,
            0,
            BOXES,
        )
        sold, count, grams = asyncio.run(
            sql_figures(f"sqlite+aiosqlite:///{tmp_path}/farmlive.db", sale.lot_id)
        )
        assert (sold, count, grams) == (sale.stock_grams, BOXES, sale.stock_grams)
