"""The in-process relay: its lifecycle, who may publish, and how its status reaches viewers."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

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

    relay = Relay(settings.ice_servers, max_viewers=settings.max_viewers, on_status=relay_status)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


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


def media_routes(get_services: Callable[[], Any]) -> APIRouter:
    """WHIP/WHEP routes bound to the running app's relay and catalogue."""

    async def authorize_publisher(sid: str, token: str | None) -> bool:
        session = await _session(get_services().catalogue, sid)
        if session is None or token is None or session.status is SessionStatus.ENDED:
            return False
        return hmac.compare_digest(token.encode(), session.stream_key.encode())

    async def session_exists(sid: str) -> bool:
        return await _session(get_services().catalogue, sid) is not None

    return media_router(lambda: get_services().relay, authorize_publisher, session_exists)
