"""`farmlive relay`: the WHIP/WHEP endpoints as a process of their own (one per core).

It shares the database (to check stream keys) and, through Redis, the live hub: the
relay's `live`/`paused` events reach viewers on every app instance. Point the pages at it
with `FARMLIVE_MEDIA_URL`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from server import errors
from server.db import make_engine
from server.media import media_routes, open_relay, open_relay_registry
from server.settings import Settings
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.adapters.sql.restream import SqlRestream
from shop.live import events
from shop.live.hub import Audience
from stream import Relay

log = logging.getLogger("farmlive.relay")


@dataclass
class RelayServices:
    catalogue: SqlCatalogue
    relay: Relay
    hub: Any
    relay_registry: Any = None
    restream: Any = None  # the sessions' restream destinations (server/restream.py)


def create_relay_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = make_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            hub = None
            redis: Any = None
            if settings.redis_url:
                from shop.adapters.redis_client import redis_client
                from shop.adapters.redis_hub import RedisHub

                redis = redis_client(settings.redis_url, max_connections=64)
                stack.push_async_callback(redis.aclose)
                hub = RedisHub(redis, key_prefix=settings.redis_prefix)
            else:
                log.warning(
                    "FARMLIVE_REDIS_URL is not set: this relay cannot tell viewers on the app "
                    "instances that the stream paused; use it with Redis, or use the relay "
                    "built into `farmlive serve`"
                )

            async def report(session_id: int, status: str) -> None:
                if hub is not None:
                    await hub.set_stream_status(session_id, status)
                    await hub.publish(
                        session_id, Audience.ALL, events.encode(events.status(status))
                    )

            relay = await stack.enter_async_context(open_relay(settings, report))
            registry = await stack.enter_async_context(open_relay_registry(settings, redis, relay))
            app.state.services = RelayServices(
                SqlCatalogue(engine), relay, hub, registry, SqlRestream(engine)
            )
            yield

    app = FastAPI(title="farmlive relay", lifespan=lifespan, docs_url=None, redoc_url=None)
    errors.install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return JSONResponse({"status": "ok", "sessions": app.state.services.relay.stats()})

    app.include_router(media_routes(lambda: app.state.services, settings))
    return app
