"""Catalogue nouns: cooperatives, lots of produce, live sessions and the offers sold in them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shop.text import fold


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


# Which status a staff action may move a session to, from which statuses.
SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.LIVE: frozenset({SessionStatus.SCHEDULED, SessionStatus.LIVE}),
    SessionStatus.ENDED: frozenset(
        {SessionStatus.SCHEDULED, SessionStatus.LIVE, SessionStatus.ENDED}
    ),
}


@dataclass(frozen=True, slots=True)
class Cooperative:
    id: int
    name: str
    province: str | None
    ward: str | None
    phone: str | None
    bank_bin: str | None
    bank_account: str | None
    bank_account_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lot:
    id: int
    cooperative_id: int
    product: str
    grade: str | None
    origin: str | None
    harvest_date: date | None
    vietgap: bool
    stock_grams: int
    sold_grams: int
    created_at: datetime
    perishable: bool = True  # returned/cancelled confirmed goods are written off


@dataclass(frozen=True, slots=True)
class LotFigures:
    """A lot's public numbers: stock = available + held + sold."""

    lot_id: int
    cooperative_id: int
    product: str
    stock_grams: int
    sold_grams: int
    held_grams: int

    @property
    def available_grams(self) -> int:
        return self.stock_grams - self.sold_grams - self.held_grams


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    session_id: int
    lot_id: int
    code: str
    title: str
    pack_grams: int
    price: int
    currency: str
    max_per_order: int
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    title: str
    host_id: int | None
    status: SessionStatus
    stream_key: str
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    pinned_offer_id: int | None
    max_grams_per_buyer: int | None
    created_at: datetime
    sale_paused: bool = False
    # The host keeps the sale open after the end: the replay still sells while stock lasts.
    sale_after_end: bool = False
    banned_words: tuple[str, ...] = ()
    offers: tuple[Offer, ...] = field(default=())
    # Lots their cooperatives attached (and did not detach): offers may draw only on these.
    attached_lot_ids: frozenset[int] = frozenset()
    moderator_ids: frozenset[int] = frozenset()

    @property
    def is_live(self) -> bool:
        return self.status is SessionStatus.LIVE

    @property
    def takes_orders(self) -> bool:
        """Live, or ended with its sale kept open by the host (the replay sells)."""
        return self.is_live or (self.status is SessionStatus.ENDED and self.sale_after_end)

    @property
    def sale_status(self) -> SaleStatus:
        """Orders open only while live and not paused; ending closes the sale unless the
        host kept it open for the replay."""
        if self.takes_orders:
            return SaleStatus.PAUSED if self.sale_paused else SaleStatus.OPEN
        return SaleStatus.CLOSED


class SaleStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


def default_offer_code(product: str, pack_grams: int, existing: Sequence[Offer]) -> str:
    """A short code buyers can type in chat: initials of the product + kg, e.g. "VT5"."""
    initials = "".join(w[0] for w in fold(product).split() if w[:1].isalpha())[:3].upper() or "SP"
    kg = pack_grams / 1000
    base = f"{initials}{int(kg) if kg == int(kg) else str(kg).replace('.', '_')}"
    taken = {o.code for o in existing}
    code, n = base, 2
    while code in taken:
        code, n = f"{base}-{n}", n + 1
    return code
