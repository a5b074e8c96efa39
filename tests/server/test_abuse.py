"""Abuse limits over HTTP and WebSocket: login throttle, per-IP limits, body size, client IP."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.requests import Request

from server.abuse import AbuseLimits
from server.client_ip import client_ip
from server.settings import Settings
from shop.ratelimit import Limit, Rate
from tests.conftest import Api
from tests.server.live_helpers import Peer, live_server
from tests.server.orders_helpers import key, live_session, order_body


def tiny(limit: Limit, burst: int) -> Limit:
    """The same limit with a small burst and a slow refill, so a test reaches it quickly."""
    return Limit(limit.name, Rate(burst=burst, per_second=0.01))


def set_limits(app: Any, **limits: Limit) -> None:
    abuse = app.state.services.abuse
    abuse.limits = dataclasses.replace(abuse.limits, **limits)


async def login(api: Api, email: str, password: str, **headers: str) -> httpx.Response:
    return await api.client.post(
        "/api/auth/token", data={"username": email, "password": password}, headers=headers
    )


def from_address(api: Api, ip: str) -> dict[str, str]:
    """Headers that make the in-process client look like `ip` (the test peer is trusted)."""
    api.app.state.settings.trusted_proxies = ["127.0.0.1"]  # type: ignore[attr-defined]
    return {"X-Forwarded-For": ip}


async def test_five_failed_sign_ins_slow_that_address_down_for_that_account(api: Api) -> None:
    """After 5 wrong passwords from one address, even the right one from it gets 429."""
    for _ in range(5):
        assert (await login(api, "host@t.vn", "wrong-password")).status_code == 401
    locked = await login(api, "HOST@t.vn ", "password-123")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert (await login(api, "admin@t.vn", "password-123")).status_code == 200


async def test_an_attacker_cannot_lock_the_owner_out(api: Api) -> None:
    """Finding 2: wrong passwords from one address never refuse the owner at another one."""
    attacker = from_address(api, "198.51.100.66")
    for _ in range(12):
        await login(api, "host@t.vn", "wrong-password", **attacker)
    assert (await login(api, "host@t.vn", "password-123", **attacker)).status_code == 429
    owner = from_address(api, "203.0.113.10")
    assert (await login(api, "host@t.vn", "password-123", **owner)).status_code == 200


async def test_one_address_cannot_lock_many_accounts(api: Api) -> None:
    """Finding 2: failing ten accounts from one address leaves each usable from elsewhere."""
    attacker = from_address(api, "198.51.100.67")
    emails = ["host@t.vn", "admin@t.vn", "coop@t.vn"]
    for email in emails:
        for _ in range(5):
            await login(api, email, "wrong-password", **attacker)
    owner = from_address(api, "203.0.113.11")
    for email in emails:
        assert (await login(api, email, "password-123", **owner)).status_code == 200


async def test_the_delay_grows_with_the_failures(api: Api) -> None:
    """Past the free failures the wait grows: minutes first, then ten minutes, then an hour."""
    clock = [1000.0]
    api.app.state.services.abuse.limiter._clock = lambda: clock[0]  # type: ignore[attr-defined]
    waits: list[int] = []
    failures = 0
    while failures < 21:
        r = await login(api, "coop@t.vn", "wrong-password")
        failures += r.status_code == 401
        if r.status_code == 429:
            wait = int(r.headers["retry-after"])
            waits.append(wait)
            clock[0] += wait
    assert waits[0] <= 60 and max(waits) >= 600, waits
    assert waits == sorted(waits), waits
    assert len(waits) < 30, waits


async def test_repeated_failures_leave_an_audit_entry(api: Api) -> None:
    """The fifth failure from one address writes one `auth.failures` row, not one per try."""
    from sqlalchemy import select

    from shop.adapters.sql.tables import audit_log

    for _ in range(5):
        await login(api, "host@t.vn", "wrong-password")
    await login(api, "host@t.vn", "wrong-password")  # refused (429): not counted again
    async with api.app.state.services.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.detail).where(
                    audit_log.c.action == "auth.failures"
                )
            )
        ).all()
    assert len(rows) == 1
    assert rows[0].detail["email"] == "host@t.vn" and rows[0].detail["throttled"] == ["login-fail"]


async def test_the_login_throttle_stays_on_without_per_ip_limits(api: Api) -> None:
    """FARMLIVE_RATE_LIMITS=off lifts per-IP limits only, never the brute-force throttle."""
    api.app.state.settings.rate_limits = False  # type: ignore[attr-defined]
    for _ in range(5):
        await login(api, "coop@t.vn", "nope-nope")
    assert (await login(api, "coop@t.vn", "password-123")).status_code == 429


async def test_sign_ins_are_limited_per_address(api: Api) -> None:
    """One address trying many accounts is refused once its login bucket is empty."""
    set_limits(api.app, login_ip=tiny(AbuseLimits.login_ip, 3))
    codes = [(await login(api, f"u{i}@t.vn", "whatever-1")).status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]


async def test_orders_are_limited_per_address_with_a_generous_burst(api: Api) -> None:
    """45 orders at once from one address: the burst of 30 passes, the rest get 429."""
    s = await live_session(api)
    results = await asyncio.gather(
        *[
            api.client.post(
                f"/api/sessions/{s['sid']}/orders",
                json=order_body(s["offers"]["VL2"], 1, phone=f"09123{i:05d}"),
                headers=key(),
            )
            for i in range(45)
        ]
    )
    codes = [r.status_code for r in results]
    assert codes.count(201) >= 30 and codes.count(429) >= 5, codes
    refused = [r for r in results if r.status_code == 429]
    assert {r.json()["error"]["code"] for r in refused} == {"rate_limited"}
    assert {r.headers["retry-after"] for r in refused} == {"1"}
    metrics = (await api.client.get("/metrics")).text
    assert f'farmlive_rate_limited_total{{limit="orders-ip"}} {float(len(refused))}' in metrics


async def test_rate_limits_off_lets_one_address_order_freely(api: Api) -> None:
    """With FARMLIVE_RATE_LIMITS=off a load test from one address is never refused."""
    api.app.state.settings.rate_limits = False  # type: ignore[attr-defined]
    set_limits(api.app, orders_ip=tiny(AbuseLimits.orders_ip, 1))
    s = await live_session(api)
    for _ in range(3):
        r = await api.client.post(
            f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL2"]), headers=key()
        )
        assert r.status_code == 201


async def test_live_connects_are_limited_per_address(tmp_path: Path) -> None:
    """Past the connect burst, a socket is told rate_limited and closed with 4029."""
    async with live_server(tmp_path) as server:
        set_limits(server.api.app, ws_connect_ip=tiny(AbuseLimits.ws_connect_ip, 2))
        for _ in range(2):
            peer = await Peer.open(server.ws_url(999))
            assert (await peer.closed_with())[0] == 4004
        refused = await Peer.open(server.ws_url(999))
        error = await refused.next()
        assert error["code"] == "rate_limited" and error["retry_after"] >= 1
        assert await refused.closed_with() == (4029, "too many connections")


async def test_a_declared_body_over_the_limit_is_413(api: Api) -> None:
    """A Content-Length above FARMLIVE_MAX_BODY_BYTES is refused before the app reads it."""
    r = await api.client.post(
        "/api/sessions", content=b"x" * ((1 << 20) + 1), headers=api.auth("admin")
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


async def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    """A body without Content-Length is counted as it arrives and cut off at the limit."""

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"{" * 65536

    r = await api.client.post(
        "/api/lots",
        content=chunks(),
        headers={**api.auth("admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def request_from(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.1.1.1", [], "203.0.113.9"),
        ("203.0.113.9", "1.1.1.1", ["10.0.0.0/8"], "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1", ["10.0.0.0/8"], "1.1.1.1"),
        ("10.0.0.2", "6.6.6.6, 1.1.1.1, 10.0.0.7", ["10.0.0.0/8"], "1.1.1.1"),
        ("10.0.0.2", None, ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "not-an-ip", ["10.0.0.0/8"], "10.0.0.2"),
        ("::1", "2001:db8::5", ["::1"], "2001:db8::5"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: str | None, trusted: list[str], expected: str
) -> None:
    """X-Forwarded-For is read right to left past trusted proxies, and ignored from others."""
    assert client_ip(request_from(peer, forwarded), trusted) == expected


def test_trusted_proxies_setting_is_a_comma_list_of_networks() -> None:
    """FARMLIVE_TRUSTED_PROXIES takes IPs and CIDRs, and refuses anything else."""
    parsed = Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1", _env_file=None)  # type: ignore[call-arg]
    assert parsed.trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="example.com", _env_file=None)  # type: ignore[call-arg]


@pytest.mark.redis
async def test_with_redis_every_instance_counts_the_same_failures(
    settings: Settings, redis_prefix: tuple[str, str]
) -> None:
    """Failed sign-ins on one instance lock the account on another sharing the Redis."""
    from server.app import create_app
    from server.auth import hash_password
    from shop.accounts import Role

    url, prefix = redis_prefix
    shared = settings.model_copy(update={"redis_url": url, "redis_prefix": prefix})
    one, two = create_app(shared), create_app(shared)
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        await one.state.services.accounts.add("a@t.vn", hash_password("password-123"), Role.HOST)
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            for app in (one, two)
        ]
        async with clients[0] as first, clients[1] as second:
            form = {"username": "a@t.vn", "password": "wrong-password"}
            for _ in range(5):
                assert (await first.post("/api/auth/token", data=form)).status_code == 401
            form["password"] = "password-123"
            assert (await second.post("/api/auth/token", data=form)).status_code == 429
