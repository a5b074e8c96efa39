"""Buyers find their orders by phone: a one-time code sent to the phone, then the list.

The answer to asking for a code is the same whether or not the phone has orders (no
way to learn who bought), but a code is only sent to a phone that has some, so the
endpoint cannot be used to send messages to strangers at the operator's cost.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from server.deps import ServicesDep
from server.errors import RateLimited
from server.routes.orders import jsonable
from server.services import Services
from shop.buyer_codes import CODE_TTL_S
from shop.errors import InvalidInput
from shop.notify.port import Message, MessageEvent
from shop.orders import Order
from shop.phone import normalize_phone
from shop.ratelimit import Limit, Rate

router = APIRouter(prefix="/api/buyers", tags=["buyers"])

CODE_IP = Limit("buyer-code-ip", Rate(burst=10, per_second=1 / 60))
CODE_PHONE = Limit("buyer-code-phone", Rate(burst=3, per_second=1 / 300))
# Guesses per phone: 5, then one a minute. A 6-digit code is out of reach that way.
GUESS_PHONE = Limit("buyer-guess-phone", Rate(burst=5, per_second=1 / 60))


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=9, max_length=20)


class OrdersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=9, max_length=20)
    code: str = Field(pattern=r"^\d{6}$")
    challenge: str = Field(min_length=20, max_length=120)


async def _take(services: Services, limit: Limit, key: str, request: Request) -> None:
    if services.abuse is None:
        return
    if limit is CODE_IP:
        await services.abuse.check_ip(limit, request)
        return
    decision = await services.abuse.limiter.take(limit, key)
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


@router.post("/code")
async def send_code(body: CodeRequest, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Send a one-time code to the phone (if it ever ordered); the page keeps `challenge`."""
    phone = normalize_phone(body.phone)
    await _take(services, CODE_IP, "", request)
    await _take(services, CODE_PHONE, phone, request)
    assert services.buyer_codes and services.buyer_history and services.notifications
    code, nonce, challenge = services.buyer_codes.issue(phone, time.time())
    if await services.buyer_history.orders_for(phone, limit=1):
        message = Message(f"code:{phone}:{nonce}", phone, MessageEvent.CODE, {"code": code})
        await services.notifications.enqueue((None, message))
    return {"challenge": challenge, "expires_in": CODE_TTL_S}


@router.post("/orders")
async def orders_by_phone(
    body: OrdersRequest, request: Request, services: ServicesDep
) -> dict[str, Any]:
    """The phone's orders, each with its token (the buyer's link), for a right code."""
    phone = normalize_phone(body.phone)
    await _take(services, GUESS_PHONE, phone, request)
    assert services.buyer_codes and services.buyer_history
    if not services.buyer_codes.verify(body.challenge, phone, body.code, time.time()):
        raise InvalidCode()
    found = await services.buyer_history.orders_for(phone)
    out: dict[str, Any] = jsonable({"orders": [_view(services, o) for o in found]})
    return out


def _view(services: Services, order: Order) -> dict[str, Any]:
    token = services.orders.token_for(order.id)
    return {
        "id": order.id,
        "code": order.code,
        "status": order.status.value,
        "total": order.total,
        "currency": order.currency,
        "grams": order.grams,
        "created_at": order.created_at,
        "token": token,
        "url": f"/don-hang/{order.id}?token={token}",
    }


class InvalidCode(InvalidInput):
    """The code is wrong or has expired; ask for a new one."""

    code = "invalid_code"
