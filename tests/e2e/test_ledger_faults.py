"""The ledger under a crash: SIGKILL one of two `farmlive serve` instances mid-load on
PostgreSQL, then `farmlive ledger verify` passes and the fold equals the stats."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from shop.ledger import Entry, fold, verify_chain
from tests.e2e.faults import OwnRedis, wait_until
from tests.e2e.procs import Server, farmlive_env, run_cli
from tests.e2e.shop_client import place_many, set_up_sale, token
from tests.e2e.test_order_faults import load_with_fault

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def entries(url: str, sid: int) -> list[Entry]:
    out: list[Entry] = []
    after = 0
    while True:
        page = httpx.get(
            f"{url}/api/sessions/{sid}/ledger", params={"after": after, "limit": 1000}, timeout=10
        ).json()
        out += [Entry.from_mapping(e) for e in page["entries"]]
        if len(page["entries"]) < 1000:
            return out
        after = out[-1].seq


def test_instance_killed_mid_load_leaves_verifiable_chains(
    tmp_path: Path, pg_database: str
) -> None:
    """Orders on two instances, one SIGKILLed mid-load: one gapless chain that agrees with the orders."""
    redis = OwnRedis(tmp_path / "redis").start()
    env = farmlive_env(
        FARMLIVE_DATABASE_URL=pg_database,
        FARMLIVE_REDIS_URL=redis.url,
        FARMLIVE_REDIS_PREFIX="ledgerfault",
        FARMLIVE_SECRET_KEY="ledger-fault-secret",
        FARMLIVE_RATE_LIMITS="off",
        FARMLIVE_HOLD_SECONDS="10",
    )
    try:
        with Server(tmp_path, env, ("--demo",)) as a, Server(tmp_path, env) as b:
            sale = set_up_sale(a.url, 2000)
            first = asyncio.run(place_many([a.url], sale, 40))
            coop = token(a.url, "coop@farmlive.local")
            # Staff changes on both instances while new orders arrive, then B dies mid-load.
            for i, (_, body) in enumerate(first[:20]):
                action = "confirm" if i % 2 else "cancel"
                url = a.url if i % 4 < 2 else b.url
                assert (
                    httpx.post(
                        f"{url}/api/orders/{body['id']}/{action}", headers=coop, timeout=10
                    ).status_code
                    == 200
                )
            results = asyncio.run(load_with_fault([a.url, b.url], sale, 1200, b.kill, 100_000))
            assert not [r for r in results if r[0] not in (200, 201)]
            chain = entries(a.url, sale.sid)
            check = verify_chain(chain)
            assert check.ok, check
            totals = fold(chain).totals().as_dict()
            stats = httpx.get(f"{a.url}/api/sessions/{sale.sid}/stats", timeout=10).json()
            assert {k: stats[k] for k in totals} == totals
            placed = {e.order_code for e in chain if e.event.value == "placed"}
            assert len(placed) == 40 + 1200 == stats["orders_count"] + 10  # 10 were cancelled
            assert {body["code"] for _, body in first + results} == placed
            verified = run_cli(
                "ledger", "verify", "--session", str(sale.sid), cwd=tmp_path, env=env
            )
            assert verified.returncode == 0, verified.stderr
            everything = run_cli("ledger", "verify", cwd=tmp_path, env=env)
            assert everything.returncode == 0, everything.stderr
            wait_until(
                lambda: httpx.get(f"{a.url}/readyz", timeout=5).status_code == 200, timeout=10
            )
    finally:
        redis.kill()
