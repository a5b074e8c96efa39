"""The in-process relay: its lifecycle, who may publish, and how its status reaches viewers."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from server import restream
from server.client_ip import client_ip
from server.cors import Cors, media_origins
from server.ice_links import IceLinks
from server.relay_registry import RelayRegistry
from server.routes.hls import hls_router
from server.routes.media import media_router
from server.settings import Settings
from shop.adapters.sql.catalogue import SqlCatalogue
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import NotFound
from stream import Relay

log = logging.getLogger("farmlive.media")

StreamStatus = Callable[[int, str], Awaitable[None]]


@asynccontextmanager
async def open_relay(settings: Settings, on_status: StreamStatus) -> AsyncIterator[Relay]:
    """A started relay whose publisher events become the live room's `status` events."""

    async def relay_status(session_id: str, status: str) -> None:
        try:
            await on_status(int(session_id), status)
        except Exception:  # a status broadcast must never break the media path
            log.exception("could not broadcast stream status %s for %s", status, session_id)

    relay = Relay(
        settings.ice_servers,
        hls_dir=Path(settings.hls_dir) if settings.hls_dir else None,
        max_viewers=settings.max_viewers,
        per_address=settings.whep_per_address,
        on_status=relay_status,
    )
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@asynccontextmanager
async def open_relay_registry(
    settings: Settings, redis: Any, relay: Relay
) -> AsyncIterator[RelayRegistry | None]:
    """With Redis and `FARMLIVE_RELAY_URL`, this process's claims on sessions' relays."""
    if redis is None or not settings.relay_url:
        if settings.relay_url:
            log.warning("FARMLIVE_RELAY_URL needs FARMLIVE_REDIS_URL; no relay records kept")
        yield None
        return
    registry = RelayRegistry(
        redis,
        settings.relay_url,
        key_prefix=settings.redis_prefix,
        holds=lambda sid: relay.room(sid) is not None,
    )
    await registry.start()
    try:
        yield registry
    finally:
        await registry.stop()


def relay_session_listener(relay: Relay) -> Callable[[LiveSession], Awaitable[None]]:
    """When staff end a session, its publisher and viewers are disconnected."""

    async def on_change(session: LiveSession) -> None:
        if session.status is SessionStatus.ENDED:
            await relay.close_session(str(session.id))

    return on_change


async def _session(catalogue: SqlCatalogue, sid: str) -> LiveSession | None:
    # isascii: "²".isdigit() is true and int("²") raises; the range: PostgreSQL's integer.
    if not (sid.isascii() and sid.isdigit() and len(sid) <= 10 and 0 < int(sid) < 2**31):
        return None
    try:
        return await catalogue.get_session(int(sid))
    except NotFound:
        return None


def media_routes(get_services: Callable[[], Any], settings: Settings) -> APIRouter:
    """WHIP/WHEP and HLS routes bound to the running app's relay and catalogue."""

    async def authorize_publisher(sid: str, token: str | None) -> bool:
        services = get_services()
        session = await _session(services.catalogue, sid)
        if session is None or token is None or session.status is SessionStatus.ENDED:
            return False
        if not hmac.compare_digest(token.encode(), session.stream_key.encode()):
            return False
        # The process about to hold the publisher learns where to restream it.
        await restream.load_into(getattr(services, "restream", None), services.relay, session.id)
        return True

    async def session_exists(sid: str) -> bool:
        return await _session(get_services().catalogue, sid) is not None

    cors = Cors(media_origins(settings.allowed_origins, settings.public_url))

    def registry() -> RelayRegistry | None:
        return getattr(get_services(), "relay_registry", None)

    router = media_router(
        lambda: get_services().relay,
        authorize_publisher,
        session_exists,
        cors=cors,
        ice_links=ice_links(settings),
        client_address=lambda request: client_ip(request, settings.trusted_proxies),
        registry=registry,
    )
    router.include_router(
        hls_router(lambda: get_services().relay.hls_dir, cors=cors, registry=registry)
    )
    return router


def ice_links(settings: Settings) -> IceLinks:
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else None
    return IceLinks(
        settings.ice_servers,
        turn_urls=settings.turn_urls,
        turn_secret=secret,
        ttl=settings.turn_ttl_seconds,
    )
