"""create_app(settings): the composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from server import errors
from server.body_limit import BodyLimit
from server.live.capture import CaptureRawSend
from server.media import media_routes
from server.request_log import RequestIds
from server.routes import (
    auth,
    bank,
    buyers,
    catalogue,
    compliance,
    coop,
    geo,
    health,
    live,
    orders,
    pages,
    payments,
    sessions,
    shipping,
)
from server.services import open_services
from server.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    payment_http_client: Any = None,
    delivery_transports: dict[str, Any] | None = None,
) -> FastAPI:
    """The app; `payment_http_client` replaces Stripe's HTTP client and
    `delivery_transports` the carriers' and message providers' (tests pass fakes)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(
            settings,
            payment_http_client=payment_http_client,
            delivery_transports=delivery_transports,
        ) as services:
            app.state.services = services
            yield

    app = FastAPI(
        title="farmlive",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    for module in (health, auth, catalogue, sessions, orders, geo, coop, live, payments):
        app.include_router(module.router)
    app.include_router(compliance.router)
    app.include_router(bank.router)
    app.include_router(shipping.router)
    app.include_router(buyers.router)
    app.add_middleware(CaptureRawSend)  # the live fan-out's fast path (server/live/sinks.py)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIds)  # outermost: the id covers everything below
    app.include_router(media_routes(lambda: app.state.services))
    pages.install(app, settings)
    return app
