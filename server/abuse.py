"""Abuse limits: per-IP rate limits (login, orders, live connects) and the login throttle.

Per-IP limits are off with FARMLIVE_RATE_LIMITS=off (load tests from one address); the
login throttle always applies. The limiter is Redis-backed when Redis is configured, so
every instance counts together.

The login throttle counts failed sign-ins per (account, client address) pair, never per
account alone: an account-wide counter let anyone lock the owner out with five wrong
passwords a minute. Each pair passes through stacked buckets, so the delay grows with
the failures (5 free, then one a minute; past 10, one per 10 minutes; past 20, one an
hour), while the owner signing in from any other address is not slowed at all. The
per-address login limit bounds how many accounts one address can try. Emptying a tier
writes an audit entry (`auth.failures`), at most one per tier per pair while it refills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from server.client_ip import client_ip
from server.errors import RateLimited
from server.settings import Settings
from shop.ratelimit import Limit, Rate, RateLimiter

# A staff office behind one address signs in together; scripts guessing do not.
LOGIN_IP = Limit("login-ip", Rate(burst=20, per_second=10 / 60))
# Failed sign-ins per (e-mail, address): a growing delay, one bucket per tier.
LOGIN_FAILURES = Limit("login-fail", Rate(burst=5, per_second=1 / 60))
LOGIN_FAILURES_SLOW = Limit("login-fail-10m", Rate(burst=10, per_second=1 / 600))
LOGIN_FAILURES_SLOWER = Limit("login-fail-1h", Rate(burst=20, per_second=1 / 3600))
# Generous: a whole family (or village) behind one carrier NAT orders at once.
ORDERS_IP = Limit("orders-ip", Rate(burst=30, per_second=5))
# Viewers reconnect with back-off; a stream start brings a NAT's worth at once.
WS_CONNECT_IP = Limit("ws-ip", Rate(burst=60, per_second=5))


@dataclass(frozen=True)
class AbuseLimits:
    login_ip: Limit = LOGIN_IP
    login_failures: Limit = LOGIN_FAILURES
    login_failures_slow: Limit = LOGIN_FAILURES_SLOW
    login_failures_slower: Limit = LOGIN_FAILURES_SLOWER
    orders_ip: Limit = ORDERS_IP
    ws_connect_ip: Limit = WS_CONNECT_IP


@dataclass
class Abuse:
    limiter: RateLimiter
    settings: Settings
    limits: AbuseLimits = field(default_factory=AbuseLimits)
    metrics: Any = None  # server.metrics.Metrics: counts refusals per limit

    def _refused(self, limit: Limit, retry_after: float, message: str | None = None) -> RateLimited:
        if self.metrics is not None:
            self.metrics.rate_limited.labels(limit.name).inc()
        return RateLimited(retry_after, message) if message else RateLimited(retry_after)

    def client_ip(self, conn: HTTPConnection) -> str:
        return client_ip(conn, self.settings.trusted_proxies)

    async def check_ip(self, limit: Limit, conn: HTTPConnection) -> None:
        """Spend one of this client's `limit` tokens, or raise RateLimited."""
        if not self.settings.rate_limits:
            return
        decision = await self.limiter.take(limit, self.client_ip(conn))
        if not decision.allowed:
            raise self._refused(limit, decision.retry_after)

    @staticmethod
    def _pair(email: str, ip: str) -> str:
        return f"{email.strip().lower()}|{ip}"

    def _login_tiers(self) -> tuple[Limit, ...]:
        limits = self.limits
        return (limits.login_failures, limits.login_failures_slow, limits.login_failures_slower)

    async def check_login(self, email: str, conn: HTTPConnection) -> None:
        """Refuse sign-ins (even right ones) from an address that failed this account lately."""
        key = self._pair(email, self.client_ip(conn))
        refused: tuple[float, Limit] | None = None
        for limit in self._login_tiers():
            decision = await self.limiter.peek(limit, key)
            if not decision.allowed and (refused is None or decision.retry_after > refused[0]):
                refused = (decision.retry_after, limit)  # the longest wait is the true one
        if refused is not None:
            raise self._refused(
                refused[1],
                refused[0],
                "too many failed sign-ins from here for this account; wait a little",
            )

    async def login_failed(self, email: str, conn: HTTPConnection) -> list[str]:
        """Count a failure on every tier; returns the tiers it just emptied (for the audit)."""
        key = self._pair(email, self.client_ip(conn))
        emptied = []
        for limit in self._login_tiers():
            await self.limiter.take(limit, key)
            if not (await self.limiter.peek(limit, key)).allowed:
                emptied.append(limit.name)
        return emptied
