"""Catalogue stand-ins for the live room's pure tests: sessions selling from given lots."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from shop.catalogue import LiveSession, Offer, SessionStatus

NOW = datetime(2025, 6, 29, tzinfo=UTC)


def session(
    session_id: int,
    lot_ids: Iterable[int],
    *,
    status: SessionStatus = SessionStatus.LIVE,
    pinned: int | None = None,
) -> LiveSession:
    offers = tuple(
        Offer(
            id=session_id * 100 + i,
            session_id=session_id,
            lot_id=lot_id,
            code=f"VL{i}",
            title=f"Thùng {i}",
            pack_grams=5_000,
            price=250_000,
            currency="VND",
            max_per_order=20,
            active=True,
            created_at=NOW,
        )
        for i, lot_id in enumerate(lot_ids)
    )
    return LiveSession(
        id=session_id,
        title=f"Phiên {session_id}",
        host_id=1,
        status=status,
        stream_key="k",
        scheduled_at=None,
        started_at=NOW,
        ended_at=None,
        pinned_offer_id=pinned,
        max_grams_per_buyer=None,
        created_at=NOW,
        offers=offers,
    )


class Catalogue:
    """What SessionLots reads: the live sessions, changeable by the test."""

    def __init__(self, *sessions: LiveSession) -> None:
        self.sessions = list(sessions)
        self.reads = 0

    async def live_sessions(self) -> list[LiveSession]:
        self.reads += 1
        return list(self.sessions)
