"""Product photos: uploads by the lot's cooperative or the offer's host; files for everyone.

An upload is the raw image as the request body (`Content-Type: image/jpeg|png|webp`),
so a page sends a File straight from an <input type=file> without multipart encoding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.catalogue import PhotoPublic
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import User, require_cooperative, require_session_control
from shop.errors import InvalidInput, NotFound

router = APIRouter(tags=["photos"])
TYPES = {"image/jpeg", "image/png", "image/webp"}


async def _body(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in TYPES:
        raise InvalidInput("send the photo as image/jpeg, image/png or image/webp", field="photo")
    return await request.body()


async def _check_owner(services: Services, user: User, owner_type: str, owner_id: int) -> None:
    if owner_type == "lot":
        lot = await services.catalogue.get_lot(owner_id)
        require_cooperative(user, lot.cooperative_id)
    else:
        offer = await services.catalogue.get_offer(owner_id)
        require_session_control(user, await services.catalogue.get_session(offer.session_id))


@router.post("/api/lots/{lot_id}/photos", status_code=201, response_model=PhotoPublic)
async def add_lot_photo(
    lot_id: PathId, request: Request, user: CurrentUser, services: ServicesDep
) -> Any:
    await _check_owner(services, user, "lot", lot_id)
    return await services.photos.upload(user.id, "lot", lot_id, await _body(request))


@router.post("/api/offers/{offer_id}/photos", status_code=201, response_model=PhotoPublic)
async def add_offer_photo(
    offer_id: PathId, request: Request, user: CurrentUser, services: ServicesDep
) -> Any:
    await _check_owner(services, user, "offer", offer_id)
    return await services.photos.upload(user.id, "offer", offer_id, await _body(request))


@router.delete("/api/photos/{photo_id}", status_code=204)
async def remove_photo(photo_id: PathId, user: CurrentUser, services: ServicesDep) -> Response:
    record = await services.photos.records.get(photo_id)
    await _check_owner(services, user, record.owner_type, record.owner_id)
    await services.photos.remove(user.id, photo_id)
    return Response(status_code=204)


@router.get("/photos/{name}", include_in_schema=False)
async def photo_file(name: str, services: ServicesDep) -> Response:
    data = await services.photos.storage.get(name[:64])
    if data is None:
        raise NotFound("no such photo")
    # File names are random and never reused: cache for good.
    return Response(
        data,
        media_type="image/webp",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
