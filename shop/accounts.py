"""Staff accounts and what each role may touch (object-level checks live here, not in routes)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shop.catalogue import LiveSession
from shop.errors import Forbidden


class Role(enum.StrEnum):
    ADMIN = "admin"
    HOST = "host"
    COOP = "coop"
    MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    role: Role
    cooperative_id: int | None
    display_name: str
    active: bool

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def require_role(user: User, *roles: Role) -> None:
    """Admins pass every role check; others need one of `roles`."""
    if user.is_admin or user.role in roles:
        return
    raise Forbidden(f"this needs the role {' or '.join(r.value for r in roles)}")


def require_session_control(user: User, session: LiveSession) -> None:
    """A host controls only the sessions they host; admins control all."""
    if user.is_admin:
        return
    if user.role is Role.HOST and session.host_id == user.id:
        return
    raise Forbidden("you do not host this live session")


def require_session_moderation(user: User, session: LiveSession) -> None:
    """Moderators act only on sessions they are assigned to; hosts only on their own."""
    if user.is_admin:
        return
    if user.role is Role.MODERATOR:
        if user.id in session.moderator_ids:
            return
        raise Forbidden("you are not a moderator of this live session")
    require_session_control(user, session)


def require_lot_owner(user: User, cooperative_id: int) -> None:
    """Only the lot's cooperative (or an admin) puts its lot on sale in a session."""
    if user.is_admin or (user.role is Role.COOP and user.cooperative_id == cooperative_id):
        return
    raise Forbidden("only the lot's cooperative can attach it to a live session")


def require_cooperative(user: User, cooperative_id: int) -> None:
    """A coop user sees and changes only their own cooperative."""
    if user.is_admin:
        return
    if user.role is Role.COOP and user.cooperative_id == cooperative_id:
        return
    raise Forbidden("this belongs to another cooperative")
