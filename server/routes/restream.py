"""`PUT/GET /api/sessions/{sid}/restream`: the session's RTMP/RTMPS destinations and states."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from server import restream
from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.types import STRICT, PathId
from server.services import Services
from shop.accounts import User, require_session_control
from shop.restream import Destination, RestreamStore, merge_masked

router = APIRouter(prefix="/api", tags=["media"])


class DestinationIn(BaseModel):
    model_config = STRICT
    # rtmp:// or rtmps://, with the stream key; or a destination's masked URL as GET gave it.
    url: str = Field(min_length=1, max_length=2048)
    enabled: StrictBool


class DestinationOut(BaseModel):
    url: str  # the stream key masked
    enabled: bool
    state: Literal["idle", "connecting", "live", "error"]
    error: str | None


def _store(services: Services) -> RestreamStore:
    return services.restream


async def _controlled(services: Services, user: User, sid: int) -> None:
    require_session_control(user, await services.catalogue.get_session(sid))


@router.get("/sessions/{sid}/restream", response_model=list[DestinationOut])
async def get_restream(sid: PathId, user: CurrentUser, services: ServicesDep) -> Any:
    """The session's destinations, stream keys masked, with each one's live state."""
    await _controlled(services, user, sid)
    return restream.answer(services.relay, sid, await _store(services).destinations(sid))


@router.put("/sessions/{sid}/restream", response_model=list[DestinationOut])
async def put_restream(
    sid: PathId,
    body: list[DestinationIn],
    user: CurrentUser,
    services: ServicesDep,
) -> Any:
    """Replace the destinations (the host of the session, or an admin); applied at once if live."""
    await _controlled(services, user, sid)
    store = _store(services)
    wanted = [Destination(d.url, d.enabled) for d in body]
    destinations = merge_masked(wanted, await store.destinations(sid))
    await store.replace(user.id, sid, destinations)
    restream.apply(services.relay, sid, destinations)
    return restream.answer(services.relay, sid, destinations)
