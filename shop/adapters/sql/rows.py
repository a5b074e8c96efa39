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


def live_session(row: Row[Any], offers: tuple[Offer, ...] = ()) -> LiveSession:
    data = _m(row)
    data["status"] = SessionStatus(data["status"])
    return LiveSession(**data, offers=offers)


def user(row: Row[Any]) -> User:
    data = _m(row)
    data.pop("password_hash", None)
    data.pop("created_at", None)
    data["role"] = Role(data["role"])
    return User(**data)
