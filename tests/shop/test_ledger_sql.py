"""SqlLedger: appends inside the caller's transaction, pages, heads, seals, concurrent writers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, update

from server.db import make_engine
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.adapters.sql.ledger import SqlLedger, append
from shop.adapters.sql.migrate import upgrade
from shop.adapters.sql.tables import ledger_entries
from shop.errors import NotFound
from shop.ledger import GENESIS, Fact, LedgerEvent, format_ts, verify_chain


def fact(sid: int, code: str, event: str = "placed", grams: int = 1000) -> Fact:
    return Fact(
        sid,
        LedgerEvent(event),
        code,
        1,
        1,
        1,
        grams,
        grams * 50,
        "24",
        None,
        format_ts(datetime.now(UTC)),
    )


async def all_entries(ledger: SqlLedger, sid: int):  # type: ignore[no-untyped-def]
    out = []
    after = 0
    while page := await ledger.page(sid, after, 1000):
        out += page
        after = page[-1].seq
    return out


async def test_append_page_head_fold_seal(database_url: str) -> None:
    """Entries chain from genesis per session, page by seq, fold to totals and seal once."""
    engine = make_engine(database_url)
    await upgrade(engine)
    try:
        cat = SqlCatalogue(engine)
        s1 = await cat.create_session(None, title="Một", host_id=None)
        s2 = await cat.create_session(None, title="Hai", host_id=None)
        async with engine.begin() as conn:
            await conn.run_sync(
                append, [fact(s2.id, "B1"), fact(s1.id, "A1"), fact(s1.id, "A2", grams=3000)]
            )
        async with engine.begin() as conn:
            await conn.run_sync(append, [fact(s1.id, "A1", "confirmed")])
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.run_sync(append, [fact(s1.id, "A3")])
                raise RuntimeError("the order change failed")  # its entry goes with it
        ledger = SqlLedger(engine)
        e1 = await all_entries(ledger, s1.id)
        assert [e.seq for e in e1] == [1, 2, 3] and e1[0].prev_hash == GENESIS
        assert [e.order_code for e in e1] == ["A1", "A2", "A1"]
        assert verify_chain(e1).ok
        assert [e.seq for e in await ledger.page(s1.id, 1, 1)] == [2]
        head = await ledger.head(s1.id)
        assert (head.count, head.head_hash, head.sealed_at) == (3, e1[-1].hash, None)
        t = (await ledger.fold(s1.id)).totals()
        assert (t.sold_grams, t.confirmed_grams, t.orders_count) == (4000, 1000, 2)
        assert (await ledger.fold(s2.id)).totals().sold_grams == 1000
        sealed = await ledger.seal(s1.id, datetime.now(UTC))
        async with engine.begin() as conn:
            await conn.run_sync(append, [fact(s1.id, "A2", "cancelled", grams=3000)])
        again = await ledger.seal(s1.id, datetime.now(UTC))
        assert (again.sealed_count, again.sealed_hash, again.sealed_at) == (
            3,
            e1[-1].hash,
            sealed.sealed_at,
        )
        assert (await ledger.head(s1.id)).count == 4
        # The cached fold picks up the new entry.
        assert (await ledger.fold(s1.id)).totals().sold_grams == 1000
        assert (await ledger.head(s2.id)).count == 1
        with pytest.raises(NotFound):
            await ledger.head(9999)
    finally:
        await engine.dispose()


async def test_verify_finds_tampering(database_url: str) -> None:
    """A deleted or edited entry makes verify name its seq; an untouched chain is ok."""
    engine = make_engine(database_url)
    await upgrade(engine)
    try:
        s = await SqlCatalogue(engine).create_session(None, title="Một", host_id=None)
        async with engine.begin() as conn:
            await conn.run_sync(append, [fact(s.id, f"C{i}") for i in range(5)])
        ledger = SqlLedger(engine)
        # No orders table rows for these codes: verify names the first entry without an order.
        assert (await ledger.verify(s.id)).bad_seq == 1
        async with engine.begin() as conn:
            await conn.execute(
                update(ledger_entries).where(ledger_entries.c.seq == 3).values(grams=1)
            )
        assert (await ledger.verify(s.id)).bad_seq == 1
        async with engine.begin() as conn:
            await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq == 5))
        verdict = await ledger.verify(s.id)
        assert not verdict.ok
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_two_engines_one_gapless_chain(pg_database: str) -> None:
    """Two engines (as two app instances) appending at once on PostgreSQL keep one chain."""
    engines = [make_engine(pg_database), make_engine(pg_database)]
    try:
        s = await SqlCatalogue(engines[0]).create_session(None, title="Một", host_id=None)

        async def writer(engine, name: str) -> None:  # type: ignore[no-untyped-def]
            for i in range(40):
                async with engine.begin() as conn:
                    await conn.run_sync(
                        append, [fact(s.id, f"{name}{i}a"), fact(s.id, f"{name}{i}b")]
                    )
                    await asyncio.sleep(0)  # hold the transaction open across a yield

        await asyncio.gather(*(writer(engines[k % 2], f"w{k}-") for k in range(8)))
        entries = await all_entries(SqlLedger(engines[1]), s.id)
        assert [e.seq for e in entries] == list(range(1, 641))
        assert verify_chain(entries).ok
        assert (await SqlLedger(engines[0]).head(s.id)).head_hash == entries[-1].hash
        # A batch's two entries stay next to each other.
        for a, b in zip(entries[::2], entries[1::2], strict=True):
            assert a.order_code[:-1] == b.order_code[:-1]
    finally:
        for e in engines:
            await e.dispose()
