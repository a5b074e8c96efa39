"""Who and what a session may use: attached lots, moderators, sale control, banned words.

Attaching is the lot's cooperative's decision (a coop user of it, or an admin); assigning
moderators, pausing the sale, changing a price, keeping the sale open after the end and
stopping the broadcast are the host's (or an admin's);
the banned-word list is the moderators' (assigned ones) as well as the host's.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.replay import record_price_change
from server.routes.sessions import controlled_session, session_view, staff_view
from server.schemas.catalogue import (
    BannedWords,
    LotAttach,
    ModeratorAssign,
    OfferPriceChange,
    OfferPublic,
    SaleAfterEnd,
    SessionPublic,
    SessionStaff,
)
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, User, require_lot_owner, require_session_moderation
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import Conflict, Forbidden, InvalidInput, NotFound

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


async def _changed(services: Services, sid: int) -> LiveSession:
    session = await services.catalogue.get_session(sid)
    await services.session_changed(session)
    return session


@router.post("/{sid}/lots", status_code=201, response_model=SessionPublic)
async def attach_lot(
    sid: PathId, body: LotAttach, user: CurrentUser, services: ServicesDep
) -> object:
    """The lot's cooperative puts its lot on sale in this session."""
    lot = await services.catalogue.get_lot(body.lot_id)
    require_lot_owner(user, lot.cooperative_id)
    session = await services.catalogue.get_session(sid)
    if session.status is SessionStatus.ENDED:
        raise Conflict("this live session has ended")
    await services.session_staff.attach_lot(user.id, sid, lot.id)
    return await session_view(services, await _changed(services, sid))


@router.delete("/{sid}/lots/{lot_id}", response_model=SessionPublic)
async def detach_lot(
    sid: PathId, lot_id: PathId, user: CurrentUser, services: ServicesDep
) -> object:
    """No new offers on the lot here; offers already made (and their orders) stay."""
    lot = await services.catalogue.get_lot(lot_id)
    require_lot_owner(user, lot.cooperative_id)
    await services.catalogue.get_session(sid)
    await services.session_staff.detach_lot(user.id, sid, lot.id)
    return await session_view(services, await _changed(services, sid))


@router.post("/{sid}/moderators", status_code=201, response_model=SessionStaff)
async def assign_moderator(
    sid: PathId, body: ModeratorAssign, user: CurrentUser, services: ServicesDep
) -> object:
    await controlled_session(services, user, sid)
    moderator = await services.accounts.get(body.user_id)
    if moderator.role is not Role.MODERATOR:
        raise InvalidInput(f"user {moderator.id} is not a moderator", field="user_id")
    await services.session_staff.assign_moderator(user.id, sid, moderator.id)
    return await staff_view(services, await _changed(services, sid))


@router.delete("/{sid}/moderators/{user_id}", response_model=SessionStaff)
async def remove_moderator(
    sid: PathId, user_id: PathId, user: CurrentUser, services: ServicesDep
) -> object:
    await controlled_session(services, user, sid)
    await services.session_staff.unassign_moderator(user.id, sid, user_id)
    return await staff_view(services, await _changed(services, sid))


@router.post("/{sid}/sale/pause", response_model=SessionPublic)
async def pause_sale(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    """Refuse orders for a while (409 `sale_paused`); the session and stream stay live."""
    await controlled_session(services, user, sid)
    await services.session_staff.set_sale_paused(user.id, sid, True)
    return await session_view(services, await _changed(services, sid))


@router.post("/{sid}/sale/resume", response_model=SessionPublic)
async def resume_sale(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    await controlled_session(services, user, sid)
    await services.session_staff.set_sale_paused(user.id, sid, False)
    return await session_view(services, await _changed(services, sid))


@router.put("/{sid}/sale/after-end", response_model=SessionPublic)
async def sale_after_end(
    sid: PathId, body: SaleAfterEnd, user: CurrentUser, services: ServicesDep
) -> object:
    """Keep the sale open after the end (the replay sells while stock lasts), or close it."""
    await controlled_session(services, user, sid)
    await services.session_staff.set_sale_after_end(user.id, sid, body.open)
    return await session_view(services, await _changed(services, sid))


@router.patch("/{sid}/offers/{offer_id}", response_model=OfferPublic)
async def change_price(
    sid: PathId, offer_id: PathId, body: OfferPriceChange, user: CurrentUser, services: ServicesDep
) -> object:
    """A new price from now on (orders placed keep theirs); while live, a replay moment."""
    session = await controlled_session(services, user, sid)
    old = next((o for o in session.offers if o.id == offer_id), None)
    if old is None:
        raise NotFound(f"offer {offer_id} is not part of session {sid}")
    offer = await services.session_staff.set_offer_price(user.id, sid, offer_id, body.price)
    session = await _changed(services, sid)
    if offer.price != old.price:
        await services.live.price_changed(sid, offer_id, offer.price)
    await record_price_change(services.moments, session, offer, old.price)
    return offer


@router.post("/{sid}/broadcast/stop", response_model=SessionPublic)
async def stop_broadcast(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    """The host stops the video on purpose: viewers see `stopped`, not a dropout.

    The studio calls this before it closes its WHIP resource; the relay's `paused` that
    follows is then not shown. The next publish (`live`) clears it.
    """
    session = await controlled_session(services, user, sid)
    if session.status is not SessionStatus.LIVE:
        raise Conflict("only a live session's broadcast can be stopped")
    await services.live.set_stream_status(sid, "stopped")
    return await session_view(services, session)


@router.put("/{sid}/banned-words", response_model=SessionStaff)
async def set_banned_words(
    sid: PathId, body: BannedWords, user: CurrentUser, services: ServicesDep
) -> object:
    """This session's own banned chat words (on top of the server's), for its moderators."""
    session = await services.catalogue.get_session(sid)
    require_session_moderation(user, session)
    words = sorted({w.strip() for w in body.words} - {""})  # Text() cleaned them already
    await services.session_staff.set_banned_words(user.id, sid, words)
    return await staff_view(services, await _changed(services, sid))


@router.get("/{sid}/banned-words", response_model=list[str])
async def get_banned_words(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    session = await services.catalogue.get_session(sid)
    require_session_moderation(user, session)
    return list(session.banned_words)


def _may_see(user: User, session: LiveSession) -> bool:
    try:
        require_session_moderation(user, session)
    except Forbidden:
        return False
    return True


staff_router = APIRouter(prefix="/api/staff", tags=["sessions"])


@staff_router.get("/sessions", response_model=list[SessionPublic])
async def my_sessions(user: CurrentUser, services: ServicesDep) -> object:
    """The sessions this account may moderate: all (admin), hosted, or assigned."""
    if user.role is Role.COOP:
        raise Forbidden("cooperatives see their sessions under /api/cooperatives/{cid}/sessions")
    found = [s for s in await services.catalogue.list_sessions() if _may_see(user, s)]
    return [await session_view(services, s) for s in found]
