"""Abuse limits: per-IP rate limits (login, orders, live connects) and the login throttle.

Per-IP limits are off with FARMLIVE_RATE_LIMITS=off (load tests from one address); the
per-account login throttle (failed sign-ins per e-mail) always applies. The limiter is
Redis-backed when Redis is configured, so every instance counts together.
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
# 5 failed sign-ins per e-mail, then one more each minute (5 per 5 minutes).
LOGIN_FAILURES = Limit("login-fail", Rate(burst=5, per_second=1 / 60))
# Generous: a whole family (or village) behind one carrier NAT orders at once.
ORDERS_IP = Limit("orders-ip", Rate(burst=30, per_second=5))
# Viewers reconnect with back-off; a stream start brings a NAT's worth at once.
WS_CONNECT_IP = Limit("ws-ip", Rate(burst=60, per_second=5))


@dataclass(frozen=True)
class AbuseLimits:
    login_ip: Limit = LOGIN_IP
    login_failures: Limit = LOGIN_FAILURES
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
    def _account(email: str) -> str:
        return email.strip().lower()

    async def check_login(self, email: str) -> None:
        """Refuse sign-ins to an account that failed too often lately (even right ones)."""
        decision = await self.limiter.peek(self.limits.login_failures, self._account(email))
        if not decision.allowed:
            raise self._refused(
                self.limits.login_failures,
                decision.retry_after,
                "too many failed sign-ins for this account; wait a little",
            )

    async def login_failed(self, email: str) -> None:
        await self.limiter.take(self.limits.login_failures, self._account(email))
