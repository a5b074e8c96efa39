"""HTTP shapes for cooperatives, lots, sessions and offers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.schemas.types import STRICT, Grams, Id, OptionalText, Text, Vnd


class CooperativeCreate(BaseModel):
    model_config = STRICT
    name: Text(200)  # type: ignore[valid-type]
    province: OptionalText(100) = None  # type: ignore[valid-type]
    ward: OptionalText(100) = None  # type: ignore[valid-type]
    phone: OptionalText(20) = None  # type: ignore[valid-type]
    bank_bin: str | None = Field(default=None, pattern=r"^\d{6}$")
    bank_account: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{4,19}$")
    bank_account_name: OptionalText(100) = None  # type: ignore[valid-type]


class PhotoPublic(BaseModel):
    """One product photo: WebP files at a few widths (`srcset`-ready)."""

    id: int
    urls: dict[str, str]  # width (px, as text) -> URL


class StreamerBrief(BaseModel):
    """Who sells on screen, as viewers see it (never the ID number)."""

    full_name: str
    position: str | None
    organisation: str | None


class CooperativeUpdate(BaseModel):
    """A partial change by an admin: only the fields sent are changed."""

    model_config = STRICT
    name: Text(200) | None = None  # type: ignore[valid-type]
    province: OptionalText(100) = None  # type: ignore[valid-type]
    ward: OptionalText(100) = None  # type: ignore[valid-type]
    phone: OptionalText(20) = None  # type: ignore[valid-type]
    bank_bin: str | None = Field(default=None, pattern=r"^\d{6}$")
    bank_account: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{4,19}$")
    bank_account_name: OptionalText(100) = None  # type: ignore[valid-type]


class CooperativePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    province: str | None
    ward: str | None
    phone: str | None
    created_at: datetime
    # Where bank transfers go (printed in every VietQR code anyway, so not secret).
    bank_bin: str | None = None
    bank_account: str | None = None
    bank_account_name: str | None = None


class LotCreate(BaseModel):
    model_config = STRICT
    cooperative_id: Id
    product: Text(200)  # type: ignore[valid-type]
    grade: OptionalText(50) = None  # type: ignore[valid-type]
    origin: OptionalText(200) = None  # type: ignore[valid-type]
    harvest_date: date | None = None
    vietgap: bool = False
    # Fresh produce (the default): goods confirmed and then returned or cancelled are
    # written off, never put back on sale.
    perishable: bool = True
    stock_grams: Grams


class LotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    cooperative_id: int
    product: str
    grade: str | None
    origin: str | None
    harvest_date: date | None
    vietgap: bool
    perishable: bool
    stock_grams: int
    sold_grams: int
    photos: list[PhotoPublic] = []


class LotRestock(BaseModel):
    model_config = STRICT
    grams: Grams
    reason: Text(300)  # type: ignore[valid-type]


class LotFiguresPublic(BaseModel):
    id: int
    cooperative_id: int
    product: str
    stock_grams: int
    sold_grams: int
    held_grams: int
    available_grams: int
    photos: list[PhotoPublic] = []


class SessionCreate(BaseModel):
    model_config = STRICT
    title: Text(200)  # type: ignore[valid-type]
    host_id: Id | None = None
    scheduled_at: datetime | None = None
    max_grams_per_buyer: Grams | None = None


class OfferCreate(BaseModel):
    model_config = STRICT
    lot_id: Id
    title: Text(200)  # type: ignore[valid-type]
    pack_grams: Grams
    price: Vnd
    currency: Literal["VND"] = "VND"
    max_per_order: int = Field(default=20, ge=1, le=1000, strict=True)
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,16}$")


class OfferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
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
    photos: list[PhotoPublic] = []


class PinRequest(BaseModel):
    model_config = STRICT
    offer_id: Id | None


class OfferPriceChange(BaseModel):
    """A new price for an offer during the sale; the replay marks it as a moment."""

    model_config = STRICT
    price: Vnd


class SaleAfterEnd(BaseModel):
    """Whether the replay keeps selling after the end (while stock lasts)."""

    model_config = STRICT
    open: bool = Field(strict=True)


class SessionPublic(BaseModel):
    id: int
    title: str
    status: str
    host_id: int | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    pinned_offer_id: int | None
    max_grams_per_buyer: int | None
    sale_status: Literal["open", "paused", "closed"]
    # The host keeps the sale open after the end: the replay page still takes orders.
    sale_after_end: bool = False
    streamer: StreamerBrief | None
    offers: list[OfferPublic]
    lots: list[LotFiguresPublic]
    attached_lot_ids: list[int]


class BuyerLimitsView(BaseModel):
    """The anti-hoarding limits in force (shop/hold_policy.py), shown to the host."""

    address_grams: int
    device_grams: int
    window_seconds: int
    hold_seconds: int
    short_hold_seconds: int
    nearly_sold_out_ratio: float
    enabled: bool
    max_grams_per_buyer: int | None  # the session's own per-phone cap, if any


class SessionStaff(SessionPublic):
    """What staff see: the public view plus the stream key for OBS/WHIP."""

    stream_key: str
    whip_url: str
    moderator_ids: list[int]
    banned_words: list[str]
    buyer_limits: BuyerLimitsView | None = None


class LotAttach(BaseModel):
    model_config = STRICT
    lot_id: Id


class ModeratorAssign(BaseModel):
    model_config = STRICT
    user_id: Id


class BannedWords(BaseModel):
    model_config = STRICT
    words: list[Text(50)] = Field(max_length=200)  # type: ignore[valid-type]
