"""Moderators' and hosts' actions on a live chat: delete a line, mute or ban a viewer.

Each action is checked (shop.accounts.require_session_moderation), applied through the
hub (so every instance enforces it), announced to viewers where they should see it, and
written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shop.accounts import User, require_session_moderation
from shop.adapters.sql.audit import record
from shop.errors import InvalidInput, NotFound
from shop.live import events
from shop.live.hub import CHAT_KEEP, Audience
from shop.live.identity import valid_client_id
from shop.live.records import ChatLine
from shop.live.restrictions import keys_to_restrict
from shop.text import skeleton

if TYPE_CHECKING:
    from server.services import Services

BAN_CODE, BAN_REASON = 4003, "banned from this live session"


@dataclass(frozen=True, slots=True)
class Target:
    """Who to act on: exactly one of a client id, a chat message id or a display name."""

    client_id: str | None = None
    message_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Restriction:
    kind: str
    client_id: str
    name: str | None
    until: float  # unix seconds
    ip_banned: bool


async def _check(services: Services, user: User, session_id: int) -> None:
    require_session_moderation(user, await services.catalogue.get_session(session_id))


async def _audit(
    services: Services, user: User, action: str, session_id: int, detail: dict[str, Any]
) -> None:
    async with services.engine.begin() as conn:
        await record(conn, user.id, action, "session", session_id, detail)


async def delete_message(services: Services, user: User, session_id: int, message_id: str) -> None:
    await _check(services, user, session_id)
    live = services.live
    line = await live.hub.find_chat(session_id, message_id)
    if line is None or not await live.hub.delete_chat(session_id, message_id):
        raise NotFound("no such chat message in this session (or it was already deleted)")
    await live.service.publish(session_id, events.chat_deleted(message_id))
    await _audit(
        services,
        user,
        "chat.delete",
        session_id,
        {
            "message_id": message_id,
            "name": line.name,
            "text": line.text,
            "client_id": line.client_id,
        },
    )


async def _resolve(
    services: Services, session_id: int, target: Target
) -> tuple[str, ChatLine | None]:
    """The client id to act on, and the author's latest chat line if known."""
    hub = services.live.hub
    if target.message_id is not None:
        line = await hub.find_chat(session_id, target.message_id)
        if line is None:
            raise NotFound("no such chat message in this session")
        return line.client_id, line
    lines = await hub.recent_chat(session_id, CHAT_KEEP)
    if target.client_id is not None:
        if not valid_client_id(target.client_id):
            raise InvalidInput("client_id is malformed", field="client_id")
        found = [x for x in lines if x.client_id == target.client_id]
        return target.client_id, found[-1] if found else None
    # Compared by skeleton: "Ηoa" in Greek is the "Hoa" the moderator saw on screen.
    wanted = " ".join(skeleton(target.name or "").split()).casefold()
    found = [x for x in lines if skeleton(x.name).casefold() == wanted and x.role is None]
    if not found:
        raise NotFound("nobody with that name has chatted in this session recently")
    return found[-1].client_id, found[-1]


async def restrict(
    services: Services,
    user: User,
    session_id: int,
    *,
    kind: str,
    target: Target,
    minutes: int,
    ban_ip: bool = False,
) -> Restriction:
    """Mute (no chat) or ban (no chat, sockets closed) a viewer for `minutes`."""
    await _check(services, user, session_id)
    live = services.live
    client_id, line = await _resolve(services, session_id, target)
    seconds = minutes * 60
    ip = line.ip if line is not None else ""
    device = line.device if line is not None else ""
    ip_banned = kind == "ban" and ban_ip and bool(ip)
    # The author's client id and device; the address only when asked (carriers' NATs).
    keys = keys_to_restrict(kind, client_id=client_id, device=device, ip=ip, by_address=ban_ip)
    until = 0.0
    for key in keys:
        until = max(until, await live.hub.restrict(session_id, kind, key, seconds))
    if kind == "ban":
        kick = events.kick(client_id, BAN_CODE, BAN_REASON, device=device)
        await live.service.publish(session_id, kick, Audience.CONTROL)
    name = line.name if line is not None else target.name
    await _audit(
        services,
        user,
        f"chat.{kind}",
        session_id,
        {"client_id": client_id, "name": name, "minutes": minutes, "ip_banned": ip_banned},
    )
    return Restriction(kind, client_id, name, until, ip_banned)
