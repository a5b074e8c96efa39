"""Cooperatives and lots (staff)."""

from __future__ import annotations

from fastapi import APIRouter

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.schemas.catalogue import (
    CooperativeCreate,
    CooperativePublic,
    LotCreate,
    LotPublic,
    LotRestock,
)
from server.schemas.types import PathId
from shop.accounts import Role, require_cooperative, require_role
from shop.adapters.sql.catalogue import NewLot

router = APIRouter(prefix="/api", tags=["catalogue"])


@router.post("/cooperatives", status_code=201, response_model=CooperativePublic)
async def create_cooperative(
    body: CooperativeCreate, user: CurrentUser, services: ServicesDep
) -> object:
    require_role(user, Role.ADMIN)
    return await services.catalogue.create_cooperative(user.id, **body.model_dump())


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


@router.get("/cooperatives/{cid}/lots", response_model=list[LotPublic])
async def list_lots(cid: PathId, services: ServicesDep) -> object:
    await services.catalogue.get_cooperative(cid)
    return await services.catalogue.list_lots(cid)


@router.get("/lots/{lot_id}", response_model=LotPublic)
async def get_lot(lot_id: PathId, services: ServicesDep) -> object:
    return await services.catalogue.get_lot(lot_id)


@router.post("/lots/{lot_id}/restock", response_model=LotPublic)
async def restock_lot(
    lot_id: PathId, body: LotRestock, user: CurrentUser, services: ServicesDep
) -> object:
    """Goods back on sale by hand (perishable returns are written off, not restocked)."""
    require_role(user, Role.COOP)
    require_cooperative(user, (await services.catalogue.get_lot(lot_id)).cooperative_id)
    lot = await services.catalogue.restock_lot(user.id, lot_id, body.grams, body.reason)
    await services.orders.lot_restocked(lot.id, lot.stock_grams)
    return lot
