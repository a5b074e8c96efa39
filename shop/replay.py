"""Replay moments: when each offer was pinned, and each price change, during a session, so a
replay can jump there and sell what was shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shop.catalogue import LiveSession, Offer, SessionStatus
from shop.errors import Conflict, NotFound

PIN = "pin"
PRICE = "price"


class ReplayNotReady(Conflict):
    """The session has not ended yet: its replay comes after the end."""

    code = "not_ended"


class NoReplay(NotFound):
    """The session has no recording (never live with H.264, or recordings are off)."""

    code = "no_replay"


@dataclass(frozen=True, slots=True)
class Moment:
    session_id: int
    at: datetime
    kind: str
    offer_id: int | None
    title: str
    price: int | None = None  # the offer's price from this moment on


class MomentStore(Protocol):
    async def add(self, moment: Moment) -> None: ...

    async def last(self, session_id: int, kind: str) -> Moment | None: ...

    async def list(self, session_id: int) -> list[Moment]: ...


def pin_moment(session: LiveSession, previous: Moment | None, at: datetime) -> Moment | None:
    """The moment a session change makes: a newly pinned offer while live, else None."""
    if session.status is not SessionStatus.LIVE or session.pinned_offer_id is None:
        return None
    if previous is not None and previous.offer_id == session.pinned_offer_id:
        return None
    offer = next((o for o in session.offers if o.id == session.pinned_offer_id), None)
    if offer is None:
        return None
    return Moment(session.id, at, PIN, offer.id, offer.title, offer.price)


def price_moment(session: LiveSession, offer: Offer, old_price: int, at: datetime) -> Moment | None:
    """The moment a price change makes: while live and only if the price really moved."""
    if session.status is not SessionStatus.LIVE or offer.price == old_price:
        return None
    return Moment(session.id, at, PRICE, offer.id, offer.title, offer.price)


def replay_moments(moments: list[Moment], started_at: datetime) -> list[dict[str, object]]:
    """Moments as seconds into the recording that started at `started_at`, in order."""
    return [
        {
            "t_s": round(max(0.0, (m.at - started_at).total_seconds()), 1),
            "offer_id": m.offer_id,
            "title": m.title,
            "kind": m.kind,
            "price": m.price,
        }
        for m in sorted(moments, key=lambda m: m.at)
    ]
