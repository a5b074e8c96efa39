"""Everything the app holds open: built in the lifespan, closed in reverse order."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth import TokenSigner
from server.db import make_engine
from server.metrics import Metrics
from server.settings import Settings
from shop.adapters.sql.accounts import SqlAccounts
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.adapters.sql.migrate import upgrade
from shop.catalogue import LiveSession

log = logging.getLogger("farmlive")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    accounts: SqlAccounts
    catalogue: SqlCatalogue
    tokens: TokenSigner
    metrics: Metrics
    redis: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Called after a staff change to a session (start, end, pin) so the live room and the
    # order path see it at once.
    session_listeners: list[Callable[[LiveSession], Awaitable[None]]] = field(
        default_factory=list
    )

    async def session_changed(self, session: LiveSession) -> None:
        for listener in self.session_listeners:
            await listener(session)

    async def ready(self) -> dict[str, bool]:
        """Which backing services answer right now (for /readyz)."""
        checks: dict[str, bool] = {}
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            checks["database"] = True
        except Exception:
            checks["database"] = False
        if self.redis is not None:
            try:
                checks["redis"] = bool(await self.redis.ping())
            except Exception:
                checks["redis"] = False
        return checks


def secret_of(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    log.warning(
        "FARMLIVE_SECRET_KEY is not set: using a random key, so sign-ins end when this "
        "process stops and several instances cannot share them"
    )
    return secrets.token_urlsafe(32)


@asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        engine = make_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        if migrate:
            await upgrade(engine)
        redis = None
        if settings.redis_url:
            from redis.asyncio import Redis

            redis = Redis.from_url(
                settings.redis_url,
                socket_timeout=2,
                socket_connect_timeout=2,
                health_check_interval=10,
                max_connections=256,
            )
            stack.push_async_callback(redis.aclose)
        services = Services(
            settings=settings,
            engine=engine,
            accounts=SqlAccounts(engine),
            catalogue=SqlCatalogue(engine),
            tokens=TokenSigner(secret_of(settings), settings.token_ttl_seconds),
            metrics=Metrics(),
            redis=redis,
        )
        yield services
