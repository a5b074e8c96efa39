"""OAuth2 password flow: e-mail + password -> bearer token."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request

from server.auth import CurrentUser, verify_password
from server.deps import ServicesDep
from server.errors import Unauthenticated
from server.services import Services
from shop.accounts import User
from shop.adapters.sql.audit import record

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token")
async def issue_token(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
) -> dict[str, str]:
    abuse = services.abuse
    if abuse is not None:
        await abuse.check_ip(abuse.limits.login_ip, request)
        await abuse.check_login(username, request)
    found = await services.accounts.credentials(username)
    user, stored = found if found else (None, None)
    # argon2 takes tens of ms of CPU: keep it off the event loop.
    if (
        not await asyncio.to_thread(verify_password, password, stored)
        or user is None
        or not user.active
    ):
        if abuse is not None:
            emptied = await abuse.login_failed(username, request)
            if emptied:
                await _audit_failures(services, user, username, abuse.client_ip(request), emptied)
        raise Unauthenticated("wrong e-mail or password")
    return {"access_token": services.tokens.issue(user), "token_type": "bearer"}


async def _audit_failures(
    services: Services, user: User | None, email: str, ip: str, tiers: list[str]
) -> None:
    """A tier of the login throttle just ran dry: a guessing attempt worth a row."""
    detail = {"email": email.strip().lower()[:254], "ip": ip, "throttled": tiers}
    async with services.engine.begin() as conn:
        await record(conn, None, "auth.failures", "user", user.id if user else "-", detail)


@router.get("/me")
async def who_am_i(user: CurrentUser) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "cooperative_id": user.cooperative_id,
        "display_name": user.display_name,
    }
