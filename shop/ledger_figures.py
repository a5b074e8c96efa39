"""A session's public figures, all from one fold of its ledger (stats, head, report, pages).

Taking them from the fold, not from lot rows, is what makes them honest: a lot sold in
two sessions shows each session only its own orders. Lot stock, which can span
sessions, is passed through separately and labelled as stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shop.catalogue import LotFigures
from shop.ledger import Fold, timeline
from shop.ledger_port import Head


@dataclass(frozen=True, slots=True)
class SessionFigures:
    session_id: int
    totals: dict[str, int]
    cancelled_count: int
    by_lot: list[dict[str, Any]]
    by_cooperative: list[dict[str, Any]]
    by_province: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    count: int
    head_hash: str


def figures_of(session_id: int, fold: Fold) -> SessionFigures:
    """Read everything needed from `fold` at once (a cached fold moves on after an await)."""
    return SessionFigures(
        session_id=session_id,
        totals=fold.totals().as_dict(),
        cancelled_count=fold.out_count(),
        by_lot=fold.breakdown("lot_id"),
        by_cooperative=fold.breakdown("cooperative_id"),
        by_province=fold.breakdown("province_code"),
        timeline=[
            {"ts": p.ts, "sold_grams": p.sold_grams, "confirmed_grams": p.confirmed_grams}
            for p in timeline(fold.timeline)
        ],
        count=fold.last_seq,
        head_hash=fold.last_hash,
    )


def head_view(figures: SessionFigures, head: Head) -> dict[str, Any]:
    """`/ledger/head`: the fold's count and hash (one snapshot with its totals) and the seal."""
    return {
        "count": figures.count,
        "head_hash": figures.head_hash,
        "totals": figures.totals,
        "sealed_at": head.sealed_at,
        "sealed_count": head.sealed_count,
        "sealed_hash": head.sealed_hash,
    }


def stock_view(lots: list[LotFigures]) -> list[dict[str, Any]]:
    """Per-lot stock (all sessions together): what is left to sell, not what this sold."""
    return [
        {
            "id": f.lot_id,
            "cooperative_id": f.cooperative_id,
            "product": f.product,
            "stock_grams": f.stock_grams,
            "sold_grams": f.sold_grams,
            "held_grams": f.held_grams,
            "available_grams": f.available_grams,
        }
        for f in lots
    ]
