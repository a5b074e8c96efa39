"""LiveRoom: the live room of one instance, built in the lifespan (see open_live).

It owns the hub, the publishing side (shop.live.service.LiveService: stock coalescer,
ticker), this instance's fan-out, chat rules and throttles, and the viewer-count task.
The order path and staff actions call its hooks; the relay calls `set_stream_status`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from server.live.fanout import Fanout
from server.live.snapshot import SessionCache
from server.settings import Settings
from shop.adapters.memory_hub import MemoryHub
from shop.adapters.redis_hub import RedisHub
from shop.catalogue import LiveSession, SessionStatus
from shop.gate import InventoryGate
from shop.live import events
from shop.live.chat import ChatLimits, ChatRules
from shop.live.events import PIN_PREFIX, STATUS_PREFIX
from shop.live.hub import Audience, HubUnavailable, LiveHub
from shop.live.lots import ListSessions
from shop.live.ratelimit import ChatThrottle, Rate
from shop.live.service import LiveService
from shop.orders import Order
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.live")

VIEWERS_INTERVAL_S = 1.0
VIEWERS_TTL_S = 5.0


class LiveRoom:
    def __init__(
        self,
        settings: Settings,
        *,
        hub: LiveHub,
        gate: InventoryGate,
        live_sessions: ListSessions,
        metrics: Any = None,
    ) -> None:
        self.settings = settings
        self.hub = hub
        self.gate = gate
        self.metrics = metrics
        self.service = LiveService(hub=hub, gate=gate, live_sessions=live_sessions)
        self.fanout = Fanout(on_drop=self._count_drop)
        self.sessions = SessionCache()
        self.rules = ChatRules(
            settings.banned_words,
            ChatLimits(max_chars=settings.chat_max_chars, max_bytes=settings.chat_max_bytes),
        )
        per_ip = Rate(burst=60, per_second=10) if settings.rate_limits else None
        self.throttle = ChatThrottle(
            Rate(burst=settings.chat_burst, per_second=settings.chat_per_second), per_ip
        )
        self.frame_rate = Rate(
            burst=2 * settings.live_frames_per_second, per_second=settings.live_frames_per_second
        )
        self.viewer_totals: dict[int, int] = {}
        self._session_rules: dict[tuple[str, ...], ChatRules] = {}
        self._sent_totals: dict[int, int] = {}
        self._reported: set[int] = set()  # sessions this instance last reported viewers of
        self._tasks = TaskSet()

    async def start(self) -> None:
        await self.service.start(self._deliver)
        if not self._tasks:
            self._tasks.every(VIEWERS_INTERVAL_S, self._count_step, name="live-viewers")

    async def stop(self) -> None:
        await self._tasks.close(grace_s=0)  # a count in flight is only a count: cancel it
        await self.service.stop()

    def session_rules(self, words: tuple[str, ...]) -> ChatRules:
        """The chat rules with a session's own banned words added (built once per list)."""
        rules = self._session_rules.get(words)
        if rules is None:
            if len(self._session_rules) > 256:
                self._session_rules.clear()
            rules = ChatRules(words, self.rules.limits)
            self._session_rules[words] = rules
        return rules

    def _deliver(self, session_id: int, audience: Audience, payload: str) -> None:
        if payload.startswith((PIN_PREFIX, STATUS_PREFIX)):
            self.sessions.invalidate(session_id)  # the next snapshot reads them afresh
        self.fanout.deliver(session_id, audience, payload)

    def _count_drop(self) -> None:
        if self.metrics is not None:
            self.metrics.ws_dropped.inc()

    # -- hooks for the order path, staff actions and the relay ----------------------
    async def lots_changed(self, lot_ids: Sequence[int]) -> None:
        await self.service.lots_changed(lot_ids)

    async def order_placed(self, order: Order) -> None:
        await self.service.order_placed(order)

    async def session_changed(self, session: LiveSession) -> None:
        """A Services session listener: never fails the staff action that triggered it."""
        self.sessions.invalidate(session.id)
        try:
            await self.service.session_changed(session)
        except HubUnavailable as exc:
            log.warning("live room not told of session %s: %s", session.id, exc.message)

    async def price_changed(self, session_id: int, offer_id: int, price: int) -> None:
        """Viewers get the new price live; a hub outage does not undo the change (logged)."""
        try:
            await self.service.price_changed(session_id, offer_id, price)
        except HubUnavailable as exc:
            log.warning("price of offer %s in session %s not told: %s", offer_id, session_id, exc)

    async def set_stream_status(self, session_id: int, status: str) -> None:
        """For the relay: the stream is `live`, `paused` or `ended` (else InvalidInput).

        A hub outage is logged, not raised: the relay must not stumble over the chat.
        """
        try:
            await self.service.set_stream_status(session_id, status)
        except HubUnavailable as exc:
            log.warning("stream status %s for session %s lost: %s", status, session_id, exc)

    # -- viewer counts --------------------------------------------------------------
    def viewers(self, session_id: int) -> int:
        local = len(room.viewers) if (room := self.fanout.rooms.get(session_id)) else 0
        return max(self.viewer_totals.get(session_id, 0), local)

    async def _count_step(self) -> None:
        try:
            await self.count_viewers(self._reported)
        except Exception as exc:  # the hub is down: a warning, the next second retries
            log.warning("viewer count failed: %s", exc)

    async def count_viewers(self, reported: set[int]) -> None:
        """Report this instance's viewers, read the totals, tell rooms whose total moved."""
        counts = self.fanout.counts()
        if self.metrics is not None:
            self.metrics.ws_clients.set(sum(counts.values()))
        gone = {session_id: 0 for session_id in reported - counts.keys()}
        await self.hub.report_viewers({**counts, **gone}, VIEWERS_TTL_S)
        reported.clear()
        reported.update(counts)
        totals = await self.hub.viewer_counts(sorted(counts))
        self.viewer_totals = totals
        for session_id, total in totals.items():
            if self._sent_totals.get(session_id) != total:
                self._sent_totals[session_id] = total
                payload = events.encode(events.viewers(total))
                self.fanout.deliver(session_id, Audience.ALL, payload)
        for session_id in list(self._sent_totals):
            if session_id not in counts:
                del self._sent_totals[session_id]


@asynccontextmanager
async def open_live(
    settings: Settings, *, redis: Any, gate: InventoryGate, catalogue: Any, metrics: Any = None
) -> AsyncIterator[LiveRoom]:
    """The live room on Redis when `redis` is given, else in memory; stopped on exit."""
    hub: LiveHub = (
        RedisHub(redis, key_prefix=settings.redis_prefix) if redis is not None else MemoryHub()
    )

    async def live_sessions() -> list[LiveSession]:
        sessions: list[LiveSession] = await catalogue.list_sessions(SessionStatus.LIVE)
        return sessions

    room = LiveRoom(settings, hub=hub, gate=gate, live_sessions=live_sessions, metrics=metrics)
    await room.start()
    try:
        yield room
    finally:
        await room.stop()
