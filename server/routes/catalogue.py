"""Cooperatives and lots (staff)."""

from __future__ import annotations

from fastapi import APIRouter

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.catalogue import (
    CooperativeCreate,
    CooperativePublic,
    CooperativeUpdate,
    LotCreate,
    LotPublic,
    LotRestock,
    PhotoPublic,
)
from server.schemas.types import PathId
from server.services import Services
from shop.accounts import Role, require_cooperative, require_role
from shop.adapters.sql.catalogue import NewLot
from shop.banks import napas_banks, require_bank
from shop.catalogue import Lot

router = APIRouter(prefix="/api", tags=["catalogue"])


@router.post("/cooperatives", status_code=201, response_model=CooperativePublic)
async def create_cooperative(
    body: CooperativeCreate, user: CurrentUser, services: ServicesDep
) -> object:
    require_role(user, Role.ADMIN)
    if body.bank_bin is not None:
        require_bank(body.bank_bin)
    return await services.catalogue.create_cooperative(user.id, **body.model_dump())


@router.patch("/cooperatives/{cid}", response_model=CooperativePublic)
async def update_cooperative(
    cid: PathId, body: CooperativeUpdate, user: CurrentUser, services: ServicesDep
) -> object:
    """Change a cooperative's details or bank account (admins)."""
    require_role(user, Role.ADMIN)
    values = body.model_dump(exclude_unset=True)
    if values.get("bank_bin") is not None:
        require_bank(values["bank_bin"])
    return await services.catalogue.update_cooperative(user.id, cid, values)


@router.get("/banks")
async def list_banks() -> list[dict[str, object]]:
    """The NAPAS banks a VietQR transfer can go to (BIN, short and full name)."""
    return [
        {"bin": b.bin, "short_name": b.short_name, "name": b.name, "transfer": b.transfer}
        for b in napas_banks()
    ]


@router.get("/cooperatives", response_model=list[CooperativePublic])
async def list_cooperatives(services: ServicesDep) -> object:
    return await services.catalogue.list_cooperatives()


@router.get("/cooperatives/{cid}", response_model=CooperativePublic)
async def get_cooperative(cid: PathId, services: ServicesDep) -> object:
    return await services.catalogue.get_cooperative(cid)


@router.post("/lots", status_code=201, response_model=LotPublic)
async def create_lot(body: LotCreate, user: CurrentUser, services: ServicesDep) -> object:
    require_role(user, Role.COOP)
    require_cooperative(user, body.cooperative_id)
    lot = await services.catalogue.create_lot(user.id, NewLot(**body.model_dump()))
    await services.orders.lot_added(lot.id)
    return lot


async def lot_views(services: Services, lots: list[Lot]) -> list[LotPublic]:
    photos = await services.photos.for_owners([("lot", lot.id) for lot in lots])
    return [
        LotPublic.model_validate(lot).model_copy(
            update={"photos": [PhotoPublic(**x) for x in photos.get(("lot", lot.id), [])]}
        )
        for lot in lots
    ]


@router.get("/cooperatives/{cid}/lots", response_model=list[LotPublic])
async def list_lots(cid: PathId, services: ServicesDep) -> object:
    await services.catalogue.get_cooperative(cid)
    return await lot_views(services, await services.catalogue.list_lots(cid))


@router.get("/lots/{lot_id}", response_model=LotPublic)
async def get_lot(lot_id: PathId, services: ServicesDep) -> object:
    return (await lot_views(services, [await services.catalogue.get_lot(lot_id)]))[0]


@router.post("/lots/{lot_id}/restock", response_model=LotPublic)
async def restock_lot(
    lot_id: PathId, body: LotRestock, user: CurrentUser, services: ServicesDep
) -> object:
    """Goods back on sale by hand (perishable returns are written off, not restocked)."""
    require_role(user, Role.COOP)
    require_cooperative(user, (await services.catalogue.get_lot(lot_id)).cooperative_id)
    lot = await services.catalogue.restock_lot(user.id, lot_id, body.grams, body.reason)
    await services.orders.lot_restocked(lot.id, lot.stock_grams)
    return (await lot_views(services, [lot]))[0]
