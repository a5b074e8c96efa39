"""Migration 0003 gives every order that existed before it a unique order code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shop.adapters.sql.migrate import upgrade
from shop.order_code import is_code


async def test_existing_orders_get_codes(tmp_path: Path) -> None:
    """Orders written before 0003 each get a distinct, well-formed code."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade(engine, "0003-1")
        now = datetime.now(UTC).isoformat()
        async with engine.begin() as conn:
            # No parent rows: SQLite does not enforce foreign keys on this plain engine.
            for i in range(50):
                await conn.execute(
                    text(
                        "INSERT INTO orders (id, session_id, offer_id, lot_id, idempotency_key,"
                        " request_hash, token_hash, status, quantity, grams, unit_price, total,"
                        " currency, buyer_name, buyer_phone, province_name, ward_name, street,"
                        " payment_method, created_at, updated_at) VALUES (:id, 1, 1, 1, :id, 'h',"
                        " 't', 'placed', 1, 1000, 1, 1, 'VND', 'n', '0912345678', 'p', 'w', 's',"
                        " 'cod', :t, :t)"
                    ),
                    {"id": f"order-{i}", "t": now},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            codes = [r[0] for r in await conn.execute(text("SELECT code FROM orders"))]
        assert len(codes) == 50 == len(set(codes))
        assert all(is_code(c) for c in codes)
    finally:
        await engine.dispose()
