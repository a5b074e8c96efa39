"""`farmlive ledger verify`: 0 on an untouched database; non-zero naming the first bad seq
after an order's grams are edited in SQL, a ledger row is deleted, or an entry is edited."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from sqlalchemy import delete, update

from shop.adapters.sql.tables import ledger_entries, orders
from tests.conftest import Api
from tests.e2e.procs import farmlive_env, run_cli
from tests.server.orders_helpers import live_session
from tests.server.test_ledger_api import place, staff


async def verify(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = farmlive_env(FARMLIVE_DATABASE_URL=url)
    return await asyncio.to_thread(run_cli, "ledger", "verify", *args, cwd=tmp_path, env=env)


async def test_verify_catches_each_kind_of_tampering(
    api: Api, tmp_path: Path, database_url: str
) -> None:
    """Three sessions, each tampered one way: each is named with its first bad seq."""
    sessions = []
    for _ in range(3):
        s = await live_session(api)
        a = await place(api, s["sid"], s["offers"]["VL5"], 2)
        b = await place(api, s["sid"], s["offers"]["VL2"], 1, phone="0987654321")
        await staff(api, a["id"], "confirm")
        sessions.append((s["sid"], a["id"], b["id"]))
    clean = await verify(tmp_path, database_url)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.count(": ok,") == 3
    engine = api.app.state.services.engine
    (s1, a1, _), (s2, _, _), (s3, _, _) = sessions
    async with engine.begin() as conn:
        # 1. An order's grams edited: the ledger's placed entry (seq 1) no longer agrees.
        await conn.execute(update(orders).where(orders.c.id == a1).values(grams=99_000))
        # 2. A ledger row deleted: the chain misses seq 2.
        await conn.execute(
            delete(ledger_entries).where(
                ledger_entries.c.session_id == s2, ledger_entries.c.seq == 2
            )
        )
        # 3. An entry edited: seq 3's hash no longer recomputes.
        await conn.execute(
            update(ledger_entries)
            .where(ledger_entries.c.session_id == s3, ledger_entries.c.seq == 3)
            .values(grams=1)
        )
    for sid, seq in ((s1, 1), (s2, 2), (s3, 3)):
        r = await verify(tmp_path, database_url, "--session", str(sid))
        assert r.returncode != 0
        assert f"session {sid}: BAD at seq {seq}" in r.stderr, r.stderr
    everything = await verify(tmp_path, database_url)
    assert everything.returncode != 0 and everything.stderr.count("BAD") == 3
    missing = await verify(tmp_path, database_url, "--session", "9999")
    assert missing.returncode == 2
