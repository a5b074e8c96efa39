"""LiveService: what the rest of the app tells the live room, turned into published events.

The order path feeds it (`lots_changed` -> coalesced `stock`, `order_placed` -> the
anonymised `order` ticker), staff changes feed it (`session_changed` -> `pin`, `status`),
and the relay tells it when the stream pauses (`set_stream_status`). Hooks called on the
order path only queue work; the service's own tasks publish, so a slow hub never slows an
order down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence

from shop.catalogue import LiveSession, SessionStatus
from shop.errors import InvalidInput
from shop.gate import InventoryGate
from shop.live import events
from shop.live.hub import Audience, Deliver, LiveHub
from shop.live.lots import ListSessions, SessionLots
from shop.live.ratelimit import BucketMap, Rate
from shop.live.stock import StockCoalescer
from shop.live.ticker import ticker_text
from shop.orders import Order
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.live")


class LiveService:
    def __init__(
        self,
        *,
        hub: LiveHub,
        gate: InventoryGate,
        live_sessions: ListSessions,
        stock_interval_s: float = 0.2,
        ticker_rate: Rate | None = None,
        ticker_backlog: int = 1000,
    ) -> None:
        self.hub = hub
        self.lots = SessionLots(live_sessions)
        self.stock = StockCoalescer(
            gate=gate, hub=hub, lots=self.lots, publish=self.publish, interval_s=stock_interval_s
        )
        # Per session and instance: a screen cannot show more than a few lines a second.
        self._ticker_buckets = BucketMap(ticker_rate or Rate(burst=5, per_second=5))
        self._ticker: deque[tuple[int, str, str, int]] = deque(maxlen=ticker_backlog)
        self._ticker_wake = asyncio.Event()
        self._tasks = TaskSet()
        self._seen: dict[int, tuple[str, int | None, str]] = {}  # (status, pinned, sale)
        self.ticker_dropped = 0

    async def start(self, deliver: Deliver) -> None:
        await self.hub.start(deliver)
        self.stock.start()
        if not self._tasks:
            self._tasks.spawn(self._ticker_loop(), name="live-ticker")

    async def stop(self) -> None:
        await self._tasks.close(grace_s=0)  # the ticker only waits and publishes
        await self.stock.stop()
        await self.hub.stop()

    async def publish(
        self, session_id: int, event: events.Event, audience: Audience = Audience.ALL
    ) -> None:
        """Encode once and send to every instance's viewers of the session."""
        await self.hub.publish(session_id, audience, events.encode(event))

    # -- hooks ----------------------------------------------------------------------
    async def lots_changed(self, lot_ids: Sequence[int]) -> None:
        """OrderService's `on_lots_changed`: schedule coalesced `stock` events."""
        self.stock.mark(lot_ids)

    async def order_placed(self, order: Order) -> None:
        """OrderService's `on_order`: queue an anonymised ticker line; never raises."""
        # Only the raw fields are queued: most lines of a rush are dropped by the ticker's
        # rate limit, so the text is formatted only for those that get published.
        if len(self._ticker) == self._ticker.maxlen:
            self.ticker_dropped += 1
        self._ticker.append((order.session_id, order.buyer_name, order.province_name, order.grams))
        self._ticker_wake.set()

    async def session_changed(self, session: LiveSession) -> None:
        """A staff change (start, end, pin) on this instance: tell every viewer."""
        self.lots.invalidate()
        before = self._seen.get(session.id)
        self._seen[session.id] = (
            session.status.value,
            session.pinned_offer_id,
            session.sale_status.value,
        )
        if before is not None and before[2] != session.sale_status.value:
            await self.publish(session.id, events.sale(session.sale_status.value))
        if before is None or before[1] != session.pinned_offer_id:
            await self.publish(session.id, events.pin(session.pinned_offer_id))
        if before is None or before[0] != session.status.value:
            await self.publish(session.id, events.status(session.status.value))
            if session.status is not SessionStatus.SCHEDULED:
                # Opening or closing the sale: give every room the figures once.
                self.stock.mark_session(session.id, {o.lot_id for o in session.offers})

    async def price_changed(self, session_id: int, offer_id: int, price: int) -> None:
        """Staff changed an offer's price: open order sheets must not show the old one."""
        await self.publish(session_id, events.price(offer_id, price))

    async def set_stream_status(self, session_id: int, status: str) -> None:
        """The relay's hook: the stream is `live`, `paused` (publisher gone) or `ended`."""
        if status not in events.STREAM_STATUSES:
            raise InvalidInput(f"unknown stream status {status!r}", field="status")
        if status == "paused" and await self.hub.stream_status(session_id) == "stopped":
            return  # the host stopped on purpose; the publisher leaving is not a dropout
        await self.hub.set_stream_status(session_id, status)
        await self.publish(session_id, events.status(status))

    # -- the ticker -----------------------------------------------------------------
    async def _ticker_loop(self) -> None:
        while True:
            await self._ticker_wake.wait()
            self._ticker_wake.clear()
            while self._ticker:
                session_id, name, province, grams = self._ticker.popleft()
                if not self._ticker_buckets.get(str(session_id), time.monotonic()).take(
                    time.monotonic()
                ):
                    self.ticker_dropped += 1
                    continue
                try:
                    text = ticker_text(name, province, grams)
                    await self.publish(session_id, events.order(text, grams))
                except Exception:  # a ticker line is never worth more than a log line
                    log.exception("could not publish a ticker line")
