"""The live room: the viewers' WebSocket, chat moderation and the staff's intent queue."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.live import moderation
from server.live.gateway import serve_live
from server.schemas.live import ChatDeleted, IntentPublic, RestrictionPublic, RestrictRequest
from server.schemas.types import PathId
from shop.accounts import require_session_moderation
from shop.live import events

router = APIRouter(tags=["live"])


@router.websocket("/ws/sessions/{sid}")
async def live_socket(websocket: WebSocket, sid: PathId) -> None:
    await serve_live(websocket, sid, websocket.app.state.live_gateway)


@router.post("/api/sessions/{sid}/chat/{message_id}/delete", response_model=ChatDeleted)
async def delete_chat_message(
    sid: PathId, message_id: str, user: CurrentUser, services: ServicesDep
) -> object:
    await moderation.delete_message(services, user, sid, message_id[:64])
    return ChatDeleted(id=message_id, deleted=True)


async def _restrict(
    kind: str, sid: int, body: RestrictRequest, user: CurrentUser, services: ServicesDep
) -> RestrictionPublic:
    done = await moderation.restrict(
        services,
        user,
        sid,
        kind=kind,
        target=moderation.Target(body.client_id, body.message_id, body.name),
        minutes=body.minutes,
        ban_ip=body.ban_ip,
    )
    return RestrictionPublic(
        kind=done.kind,
        client_id=done.client_id,
        name=done.name,
        until=datetime.fromtimestamp(done.until, UTC),
        ip_banned=done.ip_banned,
    )


@router.post("/api/sessions/{sid}/mute", response_model=RestrictionPublic)
async def mute_viewer(
    sid: PathId, body: RestrictRequest, user: CurrentUser, services: ServicesDep
) -> object:
    return await _restrict("mute", sid, body, user, services)


@router.post("/api/sessions/{sid}/ban", response_model=RestrictionPublic)
async def ban_viewer(
    sid: PathId, body: RestrictRequest, user: CurrentUser, services: ServicesDep
) -> object:
    return await _restrict("ban", sid, body, user, services)


@router.get("/api/sessions/{sid}/intents", response_model=list[IntentPublic])
async def list_intents(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    require_session_moderation(user, await services.catalogue.get_session(sid))
    intents = await services.live.hub.recent_intents(sid)
    return [events.intent_fields(item) for item in intents]
