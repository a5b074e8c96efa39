"""The snapshot a viewer gets on connect, and the per-session facts it is built from.

Thousands of viewers join within seconds of a session going live, so the session part
(public view, offers for the comment-to-order parser, stream status) is cached for a
second per session and loaded once however many connections miss it at the same time.
Staff changes and `pin`/`status` events invalidate it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shop.catalogue import LiveSession
from shop.chat_orders import OfferRef
from shop.errors import ShopError
from shop.gate import InventoryGate
from shop.live import events
from shop.live.events import STOCK_PREFIX
from shop.live.hub import LiveHub
from shop.live.records import ChatLine


@dataclass(frozen=True, slots=True)
class SessionFacts:
    session: LiveSession
    view: dict[str, Any]  # GET /api/sessions/{sid}, as JSON
    offers: tuple[OfferRef, ...]  # what the comment-to-order parser may match
    lot_ids: tuple[int, ...]
    stream_status: str | None


class SessionCache:
    def __init__(self, ttl_s: float = 1.0) -> None:
        self._ttl = ttl_s
        self._entries: dict[int, tuple[float, SessionFacts]] = {}
        self._loading: dict[int, asyncio.Future[SessionFacts]] = {}

    async def get(
        self, session_id: int, load: Callable[[], Awaitable[SessionFacts]]
    ) -> SessionFacts:
        entry = self._entries.get(session_id)
        if entry is not None and time.monotonic() - entry[0] < self._ttl:
            return entry[1]
        loading = self._loading.get(session_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[SessionFacts] = asyncio.get_running_loop().create_future()
        self._loading[session_id] = future
        try:
            facts = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it twice
            raise
        else:
            self._entries[session_id] = (time.monotonic(), facts)
            future.set_result(facts)
            return facts
        finally:
            del self._loading[session_id]

    def invalidate(self, session_id: int) -> None:
        self._entries.pop(session_id, None)


def offer_refs(session: LiveSession, products: dict[int, str]) -> tuple[OfferRef, ...]:
    return tuple(
        OfferRef(
            offer_id=o.id,
            code=o.code,
            title=o.title,
            product=products.get(o.lot_id, ""),
            pack_grams=o.pack_grams,
            price=o.price,
        )
        for o in session.offers
        if o.active
    )


async def build_snapshot(
    *,
    facts: SessionFacts,
    hub: LiveHub,
    gate: InventoryGate,
    client_id: str,
    viewers: int,
) -> tuple[str, Callable[[str], bool]]:
    """The encoded snapshot, and a filter for events queued while it was being built."""
    # The seq first, the figures after: a stock event numbered at or below it is older.
    seq = await hub.current_seq(facts.session.id)
    lots: list[events.Event]
    try:
        lots = [events.lot(s, seq) for s in await gate.snapshot_many(list(facts.lot_ids))]
    except ShopError:  # gate rebuilding: the SQL figures of the session view will do
        lots = [
            {
                "lot_id": f["id"],
                "stock_grams": f["stock_grams"],
                "sold_grams": f["sold_grams"],
                "held_grams": f["held_grams"],
                "available_grams": f["available_grams"],
                "seq": seq,
            }
            for f in facts.view.get("lots", [])
        ]
    chat = await hub.recent_chat(facts.session.id)
    snapshot = events.snapshot(
        session=facts.view,
        lots=lots,
        chat=chat,
        viewers=viewers,
        client_id=client_id,
        stream_status=facts.stream_status,
    )
    return events.encode(snapshot), _queued_filter(seq, chat)


def _queued_filter(seq: int, chat: Sequence[ChatLine]) -> Callable[[str], bool]:
    chat_ids = {line.id for line in chat}

    def keep(payload: str) -> bool:
        if payload.startswith(STOCK_PREFIX):
            return int(json.loads(payload).get("seq", 0)) > seq
        if payload.startswith('{"type":"chat",') and chat_ids:
            return json.loads(payload).get("id") not in chat_ids
        return True

    return keep
