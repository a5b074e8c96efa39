"""Staff accounts (admins): add with a role and a one-time set-password link, disable,
reset; the audit log. The link's owner sets their password without an account session.

A reset voids the old password at once (it is replaced by an unguessable one) so a
leaked password stops working the moment an admin resets it.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from server.auth import CurrentUser, hash_password
from server.deps import ServicesDep
from server.schemas.types import STRICT, Id, OptionalText, PathId
from server.services import Services
from shop.accounts import Role, User, require_role
from shop.adapters.sql.audit_log import SqlAuditLog
from shop.errors import InvalidInput
from shop.ratelimit import Limit, Rate

router = APIRouter(prefix="/api", tags=["users"])
LINK_TTL = timedelta(hours=72)
# Guessing a 32-byte link is hopeless anyway; this keeps a script from trying.
SET_PASSWORD_IP = Limit("set-password-ip", Rate(burst=10, per_second=1 / 30))


class UserCreate(BaseModel):
    model_config = STRICT
    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,189}$", max_length=254)
    role: Literal["admin", "host", "coop", "moderator"]
    cooperative_id: Id | None = None
    display_name: OptionalText(120) = None  # type: ignore[valid-type]


class UserPublic(BaseModel):
    id: int
    email: str
    role: str
    cooperative_id: int | None
    display_name: str
    active: bool


class UserCreated(UserPublic):
    set_password_url: str
    set_password_expires_at: datetime


class PasswordSet(BaseModel):
    model_config = STRICT
    token: str = Field(min_length=20, max_length=100)
    password: str = Field(min_length=10, max_length=1024)


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "cooperative_id": user.cooperative_id,
        "display_name": user.display_name,
        "active": user.active,
    }


async def _new_link(services: Services, actor: User, user_id: int) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + LINK_TTL
    digest = hashlib.sha256(token.encode()).hexdigest()
    await services.accounts.set_password_token(actor.id, user_id, digest, expires)
    base = (services.settings.public_url or "").rstrip("/")
    # In the fragment: never sent to the server in a request line, so never in a log.
    return {"set_password_url": f"{base}/mat-khau#{token}", "set_password_expires_at": expires}


@router.get("/users", response_model=list[UserPublic])
async def list_users(user: CurrentUser, services: ServicesDep) -> Any:
    """Every staff account (admins); hosts read it too, to pick moderators."""
    require_role(user, Role.HOST)
    found = await services.accounts.list()
    if not user.is_admin:
        found = [u for u in found if u.role is Role.MODERATOR and u.active]
    return [user_view(u) for u in found]


@router.post("/users", status_code=201, response_model=UserCreated)
async def add_user(body: UserCreate, user: CurrentUser, services: ServicesDep) -> Any:
    require_role(user, Role.ADMIN)
    role = Role(body.role)
    if (role is Role.COOP) != (body.cooperative_id is not None):
        raise InvalidInput(
            "a coop account needs cooperative_id; other roles have none", field="cooperative_id"
        )
    # Unusable until the link is used: nobody knows this password.
    placeholder = await asyncio.to_thread(hash_password, secrets.token_urlsafe(32))
    created = await services.accounts.add(
        body.email,
        placeholder,
        role,
        cooperative_id=body.cooperative_id,
        display_name=body.display_name or "",
        actor_id=user.id,
    )
    return {**user_view(created), **await _new_link(services, user, created.id)}


@router.post("/users/{user_id}/disable", response_model=UserPublic)
async def disable_user(user_id: PathId, user: CurrentUser, services: ServicesDep) -> Any:
    require_role(user, Role.ADMIN)
    if user_id == user.id:
        raise InvalidInput("you cannot disable your own account", field="user_id")
    return user_view(await services.accounts.set_active(user.id, user_id, False))


@router.post("/users/{user_id}/enable", response_model=UserPublic)
async def enable_user(user_id: PathId, user: CurrentUser, services: ServicesDep) -> Any:
    require_role(user, Role.ADMIN)
    return user_view(await services.accounts.set_active(user.id, user_id, True))


@router.post("/users/{user_id}/reset", response_model=UserCreated)
async def reset_user(user_id: PathId, user: CurrentUser, services: ServicesDep) -> Any:
    """A new one-time link; the old password stops working now."""
    require_role(user, Role.ADMIN)
    target = await services.accounts.get(user_id)
    scrambled = await asyncio.to_thread(hash_password, secrets.token_urlsafe(32))
    await services.accounts.update_hash(target.id, scrambled)
    return {**user_view(target), **await _new_link(services, user, target.id)}


@router.post("/auth/set-password", response_model=UserPublic)
async def set_password(body: PasswordSet, request: Request, services: ServicesDep) -> Any:
    """Use a one-time link (no sign-in needed: the link is the proof)."""
    if services.abuse is not None:
        await services.abuse.check_ip(SET_PASSWORD_IP, request)
    digest = hashlib.sha256(body.token.encode()).hexdigest()
    hashed = await asyncio.to_thread(hash_password, body.password)
    return user_view(await services.accounts.use_password_token(digest, hashed))


@router.get("/audit")
async def read_audit_log(
    user: CurrentUser,
    services: ServicesDep,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """The audit log, newest first (admins)."""
    require_role(user, Role.ADMIN)
    entries = await SqlAuditLog(services.engine).read(
        before_id=before_id,
        limit=limit,
        action=action,
        object_type=object_type,
        object_id=object_id,
    )
    return [
        {
            "id": e.id,
            "at": e.at,
            "actor_id": e.actor_id,
            "actor_email": e.actor_email,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "detail": e.detail,
        }
        for e in entries
    ]
