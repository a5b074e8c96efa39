"""HTTP shapes of the public ledger, its head and the honest session figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class LedgerEntryPublic(BaseModel):
    seq: int
    ts: str
    event: str
    order_code: str
    offer_id: int
    lot_id: int
    cooperative_id: int
    grams: int
    amount: int
    province_code: str | None
    ward_code: str | None
    prev_hash: str
    hash: str


class Totals(BaseModel):
    sold_grams: int
    confirmed_grams: int
    unconfirmed_grams: int
    orders_count: int
    revenue: int


class LedgerHead(BaseModel):
    count: int
    head_hash: str
    totals: Totals
    sealed_at: datetime | None = None
    sealed_count: int | None = None
    sealed_hash: str | None = None


class LedgerPage(BaseModel):
    entries: list[LedgerEntryPublic]
    head: LedgerHead


class SessionStatsPublic(BaseModel):
    """This session's own orders; lot stock (shared between sessions) only under `lots`."""

    sold_grams: int
    confirmed_grams: int
    unconfirmed_grams: int
    orders_count: int
    revenue: int
    currency: Literal["VND"] = "VND"
    # Of sold_grams: this session's orders still waiting for their transfer or card.
    held_grams: int
    # Stock left in the session's lots (all sessions together); kept for older clients.
    available_grams: int
    cancelled_count: int
    lots: list[dict[str, Any]]
    by_lot: list[dict[str, Any]]
    cooperatives: list[dict[str, Any]]
    provinces: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    ledger: LedgerHead
    # Who sells on air (name, position, organisation); null until it is recorded.
    streamer: dict[str, Any] | None = None


class SessionTotals(BaseModel):
    id: int
    title: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    totals: Totals
    head_hash: str
    sealed_at: datetime | None


class AllTotals(BaseModel):
    """Every session's own orders, and their sum: each order counted once."""

    totals: Totals
    sessions: list[SessionTotals]
