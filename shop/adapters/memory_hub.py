"""MemoryHub: the live hub for one process (the embedded default).

Several MemoryHubs may share one `MemoryHubState`, standing for instances that share a
Redis: tests use that to run the hub contract (and two "instances") in one process.
Delivery is synchronous: `publish` has called every listener when it returns.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shop.live.hub import CHAT_HISTORY, CHAT_KEEP, INTENTS_KEEP, Audience, Deliver, seq_floor
from shop.live.records import ChatLine, Intent

log = logging.getLogger("farmlive.live")


@dataclass
class MemoryHubState:
    """What Redis would hold: shared by every MemoryHub built on it."""

    listeners: dict[str, Deliver] = field(default_factory=dict)
    chat: dict[int, deque[ChatLine]] = field(default_factory=dict)
    intents: dict[int, deque[Intent]] = field(default_factory=dict)
    seq: dict[int, int] = field(default_factory=dict)
    slots: dict[tuple[int, str], float] = field(default_factory=dict)  # -> monotonic end
    restrictions: dict[tuple[int, str, str], float] = field(default_factory=dict)  # -> unix end
    viewers: dict[int, dict[str, tuple[int, float]]] = field(default_factory=dict)
    stream: dict[int, str] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class MemoryHub:
    def __init__(self, state: MemoryHubState | None = None, *, instance_id: str = "") -> None:
        self.state = state or MemoryHubState()
        self.instance_id = instance_id or uuid.uuid4().hex[:12]

    async def start(self, deliver: Deliver) -> None:
        self.state.listeners[self.instance_id] = deliver

    async def stop(self) -> None:
        self.state.listeners.pop(self.instance_id, None)

    async def publish(self, session_id: int, audience: Audience, payload: str) -> None:
        for deliver in list(self.state.listeners.values()):
            try:
                deliver(session_id, audience, payload)
            except Exception:
                log.exception("a live listener failed")

    def _new_id(self) -> str:
        # Same shape as a Redis stream id: "<unix ms>-<n>".
        return f"{int(time.time() * 1000)}-{next(self.state.ids)}"

    async def add_chat(self, session_id: int, line: ChatLine) -> ChatLine:
        stored = dataclasses.replace(line, id=self._new_id())
        self.state.chat.setdefault(session_id, deque(maxlen=CHAT_KEEP)).append(stored)
        return stored

    async def recent_chat(self, session_id: int, count: int = CHAT_HISTORY) -> list[ChatLine]:
        lines = self.state.chat.get(session_id, ())
        return list(lines)[-count:] if count > 0 else []

    async def find_chat(self, session_id: int, message_id: str) -> ChatLine | None:
        return next((x for x in self.state.chat.get(session_id, ()) if x.id == message_id), None)

    async def delete_chat(self, session_id: int, message_id: str) -> bool:
        lines = self.state.chat.get(session_id)
        found = await self.find_chat(session_id, message_id)
        if lines is None or found is None:
            return False
        lines.remove(found)
        return True

    async def add_intent(self, session_id: int, intent: Intent) -> Intent:
        stored = dataclasses.replace(intent, id=self._new_id())
        self.state.intents.setdefault(session_id, deque(maxlen=INTENTS_KEEP)).append(stored)
        return stored

    async def recent_intents(self, session_id: int, count: int = 100) -> list[Intent]:
        items = self.state.intents.get(session_id, ())
        return list(items)[-count:] if count > 0 else []

    async def next_seq(self, session_id: int, count: int = 1) -> int:
        value = self.state.seq.get(session_id) or seq_floor()
        value += count
        self.state.seq[session_id] = value
        return value

    async def current_seq(self, session_id: int) -> int:
        if session_id not in self.state.seq:
            self.state.seq[session_id] = seq_floor()
        return self.state.seq[session_id]

    async def claim_slot(self, session_id: int, name: str, seconds: float) -> float:
        now = time.monotonic()
        until = self.state.slots.get((session_id, name), 0.0)
        if until > now:
            return until - now
        self.state.slots[(session_id, name)] = now + seconds
        return 0.0

    async def restrict(self, session_id: int, kind: str, key: str, seconds: float) -> float:
        until = time.time() + seconds
        self.state.restrictions[(session_id, kind, key)] = until
        return until

    async def restricted_until(
        self, session_id: int, kind: str, keys: Sequence[str]
    ) -> float | None:
        now = time.time()
        latest: float | None = None
        for key in keys:
            until = self.state.restrictions.get((session_id, kind, key))
            if until is None:
                continue
            if until <= now:
                del self.state.restrictions[(session_id, kind, key)]
            elif latest is None or until > latest:
                latest = until
        return latest

    async def report_viewers(self, counts: Mapping[int, int], ttl_s: float) -> None:
        expires = time.monotonic() + ttl_s
        for session_id, count in counts.items():
            per_instance = self.state.viewers.setdefault(session_id, {})
            if count > 0:
                per_instance[self.instance_id] = (count, expires)
            else:
                per_instance.pop(self.instance_id, None)

    async def viewer_counts(self, session_ids: Sequence[int]) -> dict[int, int]:
        now = time.monotonic()
        totals: dict[int, int] = {}
        for session_id in session_ids:
            reports = self.state.viewers.get(session_id, {})
            totals[session_id] = sum(c for c, expires in reports.values() if expires > now)
        return totals

    async def set_stream_status(self, session_id: int, status: str) -> None:
        self.state.stream[session_id] = status

    async def stream_status(self, session_id: int) -> str | None:
        return self.state.stream.get(session_id)

    async def ping(self) -> bool:
        return True
