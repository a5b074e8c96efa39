"""create_app(settings): the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from server import errors
from server.body_limit import BodyLimit
from server.live.capture import CaptureRawSend
from server.live.front import FarmliveApp
from server.live.gateway import live_gateway
from server.media import media_routes
from server.request_log import RequestIds
from server.routes import (
    auth,
    bank,
    buyers,
    catalogue,
    compliance,
    coop,
    docs,
    geo,
    health,
    ledger,
    live,
    operate,
    orders,
    pages,
    payments,
    photos,
    replay,
    restream,
    session_staff,
    sessions,
    shipping,
    users,
)
from server.services import open_services
from server.settings import Settings
from shop.divisions import divisions


def create_app(
    settings: Settings | None = None,
    *,
    payment_http_client: Any = None,
    delivery_transports: dict[str, Any] | None = None,
    after_startup: Callable[[], None] | None = None,
) -> FarmliveApp:
    """The app; `payment_http_client` replaces Stripe's HTTP client and
    `delivery_transports` the carriers' and message providers' (tests pass fakes).
    `after_startup` runs once everything is loaded, before the first request (the
    serving process settles its heap there: server/heap.py)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FarmliveApp) -> AsyncIterator[None]:
        # Index the address data (about half a second, once per process) before the first
        # buyer's order needs it, in a thread so the loop stays free.
        await asyncio.to_thread(divisions)
        async with open_services(
            settings,
            payment_http_client=payment_http_client,
            delivery_transports=delivery_transports,
        ) as services:
            app.state.services = services
            app.state.live_gateway = live_gateway(services)  # the live socket's parts
            if after_startup is not None:
                after_startup()
            yield

    app = FarmliveApp(
        title="farmlive",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # server/routes/docs.py serves it from a wheel, offline
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    app.include_router(orders.place_router)  # first: see server/routes/orders.py
    # ledger before orders: its honest /stats replaces the older one there.
    for module in (health, auth, catalogue, sessions, ledger, orders, geo, coop, live, payments):
        app.include_router(module.router)
    for module in (session_staff, photos, users, operate):
        app.include_router(module.router)
    app.include_router(session_staff.staff_router)
    app.include_router(compliance.router)
    app.include_router(bank.router)
    app.include_router(shipping.router)
    app.include_router(buyers.router)
    docs.install(app)
    app.add_middleware(CaptureRawSend)  # the live fan-out's fast path (server/live/sinks.py)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, photo_max_bytes=settings.photo_max_bytes
    )
    app.add_middleware(RequestIds)  # outermost: the id covers everything below
    app.include_router(media_routes(lambda: app.state.services, settings))
    app.include_router(replay.router)
    app.include_router(restream.router)
    pages.install(app, settings)
    return app
