"""The compliance kit: livestreamer identity per session, published rules, complaints inbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.compliance import (
    ComplaintCreate,
    ComplaintPublic,
    ComplaintReceived,
    ComplaintResolve,
    RulesPublic,
    StreamerIn,
    StreamerPublic,
    StreamerStaff,
)
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, require_role, require_session_control
from shop.adapters.sql.compliance import SqlCompliance
from shop.compliance import (
    LIVESTREAM_RULES,
    RULES_VERSION,
    ComplaintStatus,
    StreamerRecord,
    mask_id_number,
)
from shop.phone import normalize_phone
from shop.ratelimit import Limit, Rate

router = APIRouter(prefix="/api", tags=["compliance"])

# A buyer files one complaint, maybe two; a script filing hundreds is stopped.
COMPLAINTS_IP = Limit("complaints-ip", Rate(burst=5, per_second=1 / 60))


def _store(services: Services) -> SqlCompliance:
    return SqlCompliance(services.engine)  # a thin wrapper over the shared engine


def _public(record: StreamerRecord) -> dict[str, Any]:
    return {
        "session_id": record.session_id,
        "full_name": record.full_name,
        "position": record.position,
        "organisation": record.organisation,
        "id_number": mask_id_number(record.id_number),
    }


@router.put("/sessions/{sid}/streamer", response_model=StreamerStaff)
async def record_streamer(
    sid: PathId, body: StreamerIn, user: CurrentUser, services: ServicesDep
) -> Any:
    """Record who sells on this session (the host of the session, or an admin)."""
    require_session_control(user, await services.catalogue.get_session(sid))
    phone = normalize_phone(body.phone) if body.phone else None
    record = await _store(services).record_streamer(
        user.id,
        sid,
        full_name=body.full_name,
        id_number=body.id_number,
        organisation=body.organisation,
        phone=phone,
        position=body.position,
    )
    # The public session view carries the streamer: refresh the caches that hold it.
    await services.session_changed(await services.catalogue.get_session(sid))
    return {
        **_public(record),
        "id_number": record.id_number,
        "phone": record.phone,
        "recorded_at": record.recorded_at,
        "recorded_by": record.recorded_by,
    }


@router.get("/sessions/{sid}/streamer", response_model=StreamerPublic)
async def get_streamer(sid: PathId, services: ServicesDep) -> Any:
    """Who sells on this session, as shown to viewers (ID number masked)."""
    await services.catalogue.get_session(sid)
    return _public(await _store(services).get_streamer(sid))


@router.get("/livestream-rules", response_model=RulesPublic)
async def livestream_rules() -> Any:
    """The published rules of every livestream on this server."""
    return {"version": RULES_VERSION, **{k: list(v) for k, v in LIVESTREAM_RULES.items()}}


@router.post("/complaints", status_code=201, response_model=ComplaintReceived)
async def file_complaint(body: ComplaintCreate, request: Request, services: ServicesDep) -> Any:
    """Anyone can complain about an order or a session; staff answer from the inbox."""
    if services.abuse is not None:
        await services.abuse.check_ip(COMPLAINTS_IP, request)
    if body.session_id is not None:
        await services.catalogue.get_session(body.session_id)
    complaint = await _store(services).file_complaint(
        session_id=body.session_id,
        order_id=body.order_id,
        name=body.name,
        phone=normalize_phone(body.phone),
        text=body.text,
    )
    return {
        "id": complaint.id,
        "status": complaint.status.value,
        "created_at": complaint.created_at,
    }


@router.get("/complaints", response_model=list[ComplaintPublic])
async def list_complaints(
    user: CurrentUser,
    services: ServicesDep,
    status: Annotated[ComplaintStatus | None, Query()] = None,
) -> Any:
    """The staff inbox, newest first (admins and moderators)."""
    require_role(user, Role.MODERATOR)
    return await _store(services).list_complaints(status)


@router.post("/complaints/{complaint_id}/resolve", response_model=ComplaintPublic)
async def resolve_complaint(
    complaint_id: PathId, body: ComplaintResolve, user: CurrentUser, services: ServicesDep
) -> Any:
    """Close a complaint with what was done about it."""
    require_role(user, Role.MODERATOR)
    return await _store(services).resolve_complaint(user.id, complaint_id, body.resolution)
