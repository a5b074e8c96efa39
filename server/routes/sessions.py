"""Live sessions and their offers: staff actions and the public view."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.hold_budget import budget_limits
from server.schemas.catalogue import (
    BuyerLimitsView,
    LotFiguresPublic,
    OfferCreate,
    OfferPublic,
    PhotoPublic,
    PinRequest,
    SessionCreate,
    SessionPublic,
    SessionStaff,
    StreamerBrief,
)
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, require_role, require_session_control
from shop.adapters.sql.catalogue import NewOffer
from shop.adapters.sql.compliance import SqlCompliance
from shop.catalogue import LiveSession, SessionStatus
from shop.errors import Forbidden, NotFound, StreamerIdentityRequired

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


async def streamer_brief(services: Services, session_id: int) -> StreamerBrief | None:
    try:
        record = await SqlCompliance(services.engine).get_streamer(session_id)
    except NotFound:
        return None
    return StreamerBrief(
        full_name=record.full_name, position=record.position, organisation=record.organisation
    )


async def session_view(services: Services, session: LiveSession) -> SessionPublic:
    lot_ids = sorted({o.lot_id for o in session.offers} | session.attached_lot_ids)
    figures = await services.catalogue.lot_figures(lot_ids)
    photos = await services.photos.for_owners(
        [("offer", o.id) for o in session.offers] + [("lot", i) for i in lot_ids]
    )
    return SessionPublic(
        id=session.id,
        title=session.title,
        status=session.status.value,
        host_id=session.host_id,
        scheduled_at=session.scheduled_at,
        started_at=session.started_at,
        ended_at=session.ended_at,
        pinned_offer_id=session.pinned_offer_id,
        max_grams_per_buyer=session.max_grams_per_buyer,
        sale_status=session.sale_status.value,
        sale_after_end=session.sale_after_end,
        streamer=await streamer_brief(services, session.id),
        attached_lot_ids=sorted(session.attached_lot_ids),
        offers=[
            OfferPublic.model_validate(o).model_copy(
                update={"photos": [PhotoPublic(**x) for x in photos.get(("offer", o.id), [])]}
            )
            for o in session.offers
        ],
        lots=[
            LotFiguresPublic(
                id=f.lot_id,
                cooperative_id=f.cooperative_id,
                product=f.product,
                stock_grams=f.stock_grams,
                sold_grams=f.sold_grams,
                held_grams=f.held_grams,
                available_grams=f.available_grams,
                photos=[PhotoPublic(**x) for x in photos.get(("lot", f.lot_id), [])],
            )
            for f in figures
        ],
    )


async def staff_view(services: Services, session: LiveSession) -> SessionStaff:
    public = await session_view(services, session)
    base = (services.settings.media_url or services.settings.public_url or "").rstrip("/")
    limits = budget_limits(services.settings)
    return SessionStaff(
        **public.model_dump(),
        stream_key=session.stream_key,
        whip_url=f"{base}/whip/{session.id}",
        moderator_ids=sorted(session.moderator_ids),
        banned_words=list(session.banned_words),
        buyer_limits=BuyerLimitsView(
            **dataclasses.asdict(limits), max_grams_per_buyer=session.max_grams_per_buyer
        ),
    )


async def controlled_session(services: Services, user: CurrentUser, sid: int) -> LiveSession:
    session = await services.catalogue.get_session(sid)
    require_session_control(user, session)
    return session


@router.post("", status_code=201, response_model=SessionStaff)
async def create_session(body: SessionCreate, user: CurrentUser, services: ServicesDep) -> object:
    require_role(user, Role.HOST)
    host_id = body.host_id if body.host_id is not None else user.id
    if not user.is_admin and host_id != user.id:
        raise Forbidden("hosts create sessions for themselves only")
    if body.host_id is not None:
        host = await services.accounts.get(host_id)
        if host.role not in (Role.HOST, Role.ADMIN):
            raise NotFound(f"user {host_id} is not a host")
    session = await services.catalogue.create_session(
        user.id,
        title=body.title,
        host_id=host_id,
        scheduled_at=body.scheduled_at,
        max_grams_per_buyer=body.max_grams_per_buyer,
    )
    return await staff_view(services, session)


@router.get("", response_model=list[SessionPublic])
async def list_sessions(services: ServicesDep) -> object:
    return [await session_view(services, s) for s in await services.catalogue.list_sessions()]


@router.get("/{sid}", response_model=SessionPublic)
async def get_session(sid: PathId, services: ServicesDep) -> object:
    return await session_view(services, await services.catalogue.get_session(sid))


@router.get("/{sid}/staff", response_model=SessionStaff)
async def get_session_staff(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    return await staff_view(services, await controlled_session(services, user, sid))


@router.post("/{sid}/offers", status_code=201, response_model=OfferPublic)
async def create_offer(
    sid: PathId, body: OfferCreate, user: CurrentUser, services: ServicesDep
) -> object:
    await controlled_session(services, user, sid)
    return await services.catalogue.create_offer(user.id, sid, NewOffer(**body.model_dump()))


@router.post("/{sid}/start", response_model=SessionPublic)
async def start_session(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    session = await controlled_session(services, user, sid)
    if session.status is SessionStatus.SCHEDULED and await streamer_brief(services, sid) is None:
        raise StreamerIdentityRequired(
            "record who sells on this session (PUT /api/sessions/{sid}/streamer) first"
        )
    session = await services.catalogue.set_session_status(user.id, sid, SessionStatus.LIVE)
    await services.session_changed(session)
    return await session_view(services, session)


@router.post("/{sid}/end", response_model=SessionPublic)
async def end_session(sid: PathId, user: CurrentUser, services: ServicesDep) -> object:
    await controlled_session(services, user, sid)
    session = await services.catalogue.set_session_status(user.id, sid, SessionStatus.ENDED)
    await services.session_changed(session)
    return await session_view(services, session)


@router.post("/{sid}/pin", response_model=SessionPublic)
async def pin_offer(
    sid: PathId, body: PinRequest, user: CurrentUser, services: ServicesDep
) -> object:
    await controlled_session(services, user, sid)
    session = await services.catalogue.pin_offer(user.id, sid, body.offer_id)
    await services.session_changed(session)
    return await session_view(services, session)
