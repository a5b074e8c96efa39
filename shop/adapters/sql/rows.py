"""Turn SQL rows into the shop's dataclasses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from shop.accounts import Role, User
from shop.catalogue import Cooperative, LiveSession, Lot, Offer, SessionStatus


def _m(row: Row[Any]) -> dict[str, Any]:
    return dict(row._mapping)


def cooperative(row: Row[Any]) -> Cooperative:
    return Cooperative(**_m(row))


def lot(row: Row[Any]) -> Lot:
    return Lot(**_m(row))


def offer(row: Row[Any]) -> Offer:
    return Offer(**_m(row))


def live_session(
    row: Row[Any],
    offers: tuple[Offer, ...] = (),
    attached: frozenset[int] = frozenset(),
    moderators: frozenset[int] = frozenset(),
) -> LiveSession:
    data = _m(row)
    data["status"] = SessionStatus(data["status"])
    data["banned_words"] = tuple(data.get("banned_words") or ())
    data["sale_paused"] = bool(data.get("sale_paused"))
    data["sale_after_end"] = bool(data.get("sale_after_end"))
    return LiveSession(**data, offers=offers, attached_lot_ids=attached, moderator_ids=moderators)


def user(row: Row[Any]) -> User:
    data = _m(row)
    data.pop("password_hash", None)
    data.pop("created_at", None)
    data.pop("password_token_hash", None)
    data.pop("password_token_expires", None)
    data["role"] = Role(data["role"])
    return User(**data)
