"""The live WebSocket `/ws/sessions/{sid}`: handshake checks, snapshot, then the conversation.

Order of events for a connection:
1. `Origin` checked before accepting (browsers only; a missing Origin is a non-browser
   client): the same host as the request, the public URL, or settings.allowed_origins.
   Then the per-IP connect limit (server/abuse.py): too many connects from one address
   are told `rate_limited` and closed with 4029 right after the handshake.
2. Accept (handing out the signed device cookie, server/device.py, if the browser has
   none: mutes and bans hold on it), pick the sink (direct under uvicorn, queued
   elsewhere), join the room in "pending" mode so nothing published from now on is missed.
3. Build and send the snapshot, then what arrived meanwhile (minus what the snapshot
   already holds), then switch to direct delivery.
4. Read client frames: flood limit (4029), JSON, then the Conversation. Staff sign in with
   a first `auth` message; a `?token=` in the URL is refused (`error token_in_url`) and
   redacted from every log line (server/request_log.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from server.device import device_or_new
from server.errors import RateLimited
from server.live.capture import RAW_SEND
from server.live.conversation import Closing, Conversation, SignIn
from server.live.fanout import Viewer
from server.live.sinks import DirectSink, QueuedSink, Sink
from server.live.snapshot import SessionFacts, build_snapshot, offer_refs
from server.routes.sessions import session_view
from shop.errors import NotFound, ShopError
from shop.live import events
from shop.live.identity import new_client_id
from shop.live.ratelimit import TokenBucket

if TYPE_CHECKING:
    from server.abuse import Abuse
    from server.auth import TokenSigner
    from server.live.room import LiveRoom
    from server.services import Services
    from server.settings import Settings
    from shop.accounts import User
    from shop.gate import InventoryGate

log = logging.getLogger("farmlive.live")

FLOOD_CODE, FLOOD_REASON = 4029, "too many messages"
QUEUED_SINK_MESSAGES = 256


@dataclass(frozen=True, slots=True)
class LiveGateway:
    """What the live socket works with, handed over by the composition root (see
    `live_gateway`), instead of reaching through the whole `Services`."""

    settings: Settings
    live: LiveRoom
    gate: InventoryGate  # the snapshot's lot figures
    tokens: TokenSigner  # the signed device cookie
    abuse: Abuse | None  # the per-address connect limit
    load_facts: Callable[[int], Awaitable[SessionFacts]]  # a session's snapshot facts
    sign_in: SignIn  # a staff token -> its account


def live_gateway(services: Services) -> LiveGateway:
    """The gateway's parts, taken from the app's services once (in the lifespan)."""

    async def load(session_id: int) -> SessionFacts:
        return await load_facts(services, session_id)

    async def sign_in(token: str) -> User:
        return await services.accounts.get(services.tokens.user_id(token))

    return LiveGateway(
        settings=services.settings,
        live=services.live,
        gate=services.gate,
        tokens=services.tokens,
        abuse=services.abuse,
        load_facts=load,
        sign_in=sign_in,
    )


async def load_facts(services: Services, session_id: int) -> SessionFacts:
    session = await services.catalogue.get_session(session_id)
    view = (await session_view(services, session)).model_dump(mode="json")
    products = {lot["id"]: lot["product"] for lot in view["lots"]}
    return SessionFacts(
        session=session,
        view=view,
        offers=offer_refs(session, products),
        lot_ids=tuple(sorted({o.lot_id for o in session.offers})),
        stream_status=await services.live.hub.stream_status(session_id),
    )


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: CSWSH needs a victim's browser to carry the request
    origin = origin.rstrip("/").lower()
    allowed = {o.lower() for o in settings.allowed_origins}
    if settings.public_url:
        public = urlsplit(settings.public_url)
        allowed.add(f"{public.scheme}://{public.netloc}".lower())
    if origin in allowed:
        return True
    host = websocket.headers.get("host", "").lower()
    parts = urlsplit(origin)
    return bool(host) and parts.scheme in ("http", "https") and parts.netloc == host


def make_sink(websocket: WebSocket, settings: Settings) -> Sink:
    raw_send = websocket.scope.get("extensions", {}).get(RAW_SEND)
    direct = DirectSink.attach(
        raw_send,
        max_buffer=settings.live_send_buffer_bytes,
        max_frame_bytes=settings.live_max_frame_bytes,
    )
    if direct is not None:
        return direct
    return QueuedSink(websocket, QUEUED_SINK_MESSAGES)


async def serve_live(websocket: WebSocket, session_id: int, parts: LiveGateway) -> None:
    viewer = await _admit(websocket, parts)
    if viewer is None:
        return
    live, sink = parts.live, viewer.sink

    async def facts_loader() -> SessionFacts:
        return await parts.load_facts(session_id)

    try:
        conversation = await _join(websocket, parts, session_id, viewer, facts_loader)
        if conversation is not None:
            await _converse(websocket, conversation, parts.settings)
    except Closing as exc:
        if not sink.closed:
            sink.send_text(events.encode(events.error(exc.error, exc.reason)))
        sink.close(exc.code, exc.reason)
    except ShopError as exc:  # the hub or the gate is down: tell the client, let it retry
        log.warning("live socket for session %s failed: %s", session_id, exc.message)
        sink.close(1011, "the live room is unavailable; reconnect shortly")
    finally:
        live.fanout.leave(session_id, viewer)
        await sink.aclose()


async def _admit(websocket: WebSocket, parts: LiveGateway) -> Viewer | None:
    """Origin and connect-rate checks, then accept: the new viewer, or None if refused.

    Its own function so that nothing it builds (headers, cookie) stays referenced by the
    frame that lives as long as the socket.
    """
    settings = parts.settings
    if not origin_allowed(websocket, settings):
        log.info("live socket refused: origin %s", websocket.headers.get("origin"))
        await websocket.close(code=1008)  # before accept: the handshake answers 403
        return None
    abuse = parts.abuse
    peer = websocket.client.host if websocket.client else ""
    ip = abuse.client_ip(websocket) if abuse is not None else peer
    if abuse is not None:
        try:
            await abuse.check_ip(abuse.limits.ws_connect_ip, websocket)
        except RateLimited as exc:
            await _refuse(websocket, exc)
            return None
    secure = (settings.public_url or "").startswith("https:")
    device, set_cookie = device_or_new(websocket, parts.tokens, secure=secure)
    headers = [(b"set-cookie", set_cookie.encode("latin-1"))] if set_cookie else None
    await websocket.accept(headers=headers)
    now = time.monotonic()
    return Viewer(
        make_sink(websocket, settings),
        client_id=new_client_id(),
        ip=ip,
        device=device,
        chat_bucket=parts.live.throttle.connection_bucket(now),
        frames=TokenBucket(parts.live.frame_rate, now),
    )


async def _join(
    websocket: WebSocket,
    parts: LiveGateway,
    session_id: int,
    viewer: Viewer,
    facts_loader: Callable[[], Awaitable[SessionFacts]],
) -> Conversation | None:
    """Join the room, send the snapshot and what arrived meanwhile: the conversation, or
    None when the socket is already closed (no such session, too slow to read)."""
    live, sink = parts.live, viewer.sink
    try:
        facts = await live.sessions.get(session_id, facts_loader)
    except NotFound:
        sink.close(4004, "no such live session")
        return None
    live.fanout.join(session_id, viewer)
    conversation = Conversation(parts.sign_in, live, session_id, viewer, facts, facts_loader)
    snapshot, keep = await build_snapshot(
        facts=facts,
        hub=live.hub,
        gate=parts.gate,
        client_id=viewer.client_id,
        viewers=live.viewers(session_id),
    )
    if not live.fanout.go_live(viewer, snapshot, keep):
        live.fanout.drop(session_id, viewer, 4000, "too slow: the snapshot was not read")
        return None
    if "token" in websocket.query_params:
        # Tokens in URLs end up in proxies' and browsers' logs: staff sign in with a
        # first {"type": "auth", "token"} message only, so this one is never used.
        conversation.reply(
            events.error("token_in_url", 'send the token as {"type": "auth", "token": ...}')
        )
    return conversation


async def _refuse(websocket: WebSocket, exc: RateLimited) -> None:
    """Too many connects from this address: say so (the page backs off), then close 4029."""
    await websocket.accept()
    error = events.error("rate_limited", "too many connections", retry_after=exc.retry_after)
    await websocket.send_text(events.encode(error))
    await websocket.close(FLOOD_CODE, "too many connections")


async def _converse(websocket: WebSocket, conversation: Conversation, settings: Settings) -> None:
    viewer = conversation.viewer
    while True:
        message = await viewer.sink.receive(websocket)
        if message["type"] == "websocket.disconnect":
            return
        if not viewer.frames.take(time.monotonic()):
            raise Closing(FLOOD_CODE, FLOOD_REASON, "rate_limited")
        text = message.get("text")
        if text is None:
            raise Closing(1003, "send text frames with JSON", "invalid_message")
        if len(text) > settings.live_max_frame_bytes:  # the queued path has no frame limit
            raise Closing(1009, "message too big", "too_large")
        try:
            data = json.loads(text)
        except ValueError:
            conversation.reply(events.error("invalid_message", "that is not JSON"))
            continue
        await conversation.handle(data)
