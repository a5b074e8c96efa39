"""Bank transfers matched automatically (SePay webhook) and the staff queue of the rest."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from server.auth import CurrentUser
from server.deps import ServicesDep
from server.errors import TooLarge
from server.services import Services
from shop.accounts import Role, require_role
from shop.adapters.sql.transfers import SqlTransferInbox
from shop.errors import NotFound
from shop.payments.sepay import parse_sepay
from shop.payments.transfer_matching import TransferMatcher

router = APIRouter(prefix="/api/payments", tags=["payments"])

WEBHOOK_MAX_BYTES = 64 * 1024  # one transaction is a few hundred bytes


def _matching(services: Services) -> tuple[TransferMatcher, SqlTransferInbox]:
    if services.transfers is None or services.transfer_inbox is None:
        raise NotFound("automatic bank-transfer matching is not set up on this server")
    return services.transfers, services.transfer_inbox


@router.post("/sepay/webhook")
async def sepay_webhook(
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header(max_length=512)] = None,
) -> dict[str, Any]:
    """One SePay bank transaction: key checked before the body is read; repeats change nothing."""
    matcher, _ = _matching(services)
    assert services.settings.sepay_api_key is not None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > WEBHOOK_MAX_BYTES:
            raise TooLarge(WEBHOOK_MAX_BYTES)
    transfer = parse_sepay(
        bytes(body), authorization, services.settings.sepay_api_key.get_secret_value()
    )
    record = await matcher.receive(transfer)
    # SePay wants {"success": true} with a 2xx, or it delivers again.
    return {"success": True, "outcome": record.outcome.value, "order_id": record.order_id}


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=300)


@router.get("/bank-transfers")
async def transfer_queue(
    user: CurrentUser,
    services: ServicesDep,
    resolved: Annotated[bool, Query()] = False,
) -> list[dict[str, Any]]:
    """Transfers a person must look at: wrong amount, unknown reference, late, paid twice."""
    require_role(user, Role.ADMIN)
    _, inbox = _matching(services)
    return await inbox.queue(resolved=resolved)


@router.post("/bank-transfers/{transfer_id}/resolve")
async def resolve_transfer(
    transfer_id: Annotated[str, Path(max_length=64)],
    body: Resolve,
    user: CurrentUser,
    services: ServicesDep,
) -> dict[str, Any]:
    """Staff dealt with a queued transfer (refunded or matched by hand)."""
    require_role(user, Role.ADMIN)
    _, inbox = _matching(services)
    return await inbox.resolve(transfer_id[:64], user.id, body.resolution)
