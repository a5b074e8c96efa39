"""The LiveHub port: one channel per live session, shared by every instance.

A hub carries encoded events between instances (`publish` -> every instance's `deliver`
callback, the publisher's own included) and keeps the little state a live room shares:
recent chat, the staff's intent queue, a per-session `seq`, viewer counts, moderation
restrictions and the stream status. `MemoryHub` serves one process; `RedisHub` several.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from shop.errors import GateUnavailable
from shop.live.records import ChatLine, Intent


class HubUnavailable(GateUnavailable):
    """The live room's shared store cannot answer right now; retry shortly.

    A GateUnavailable, so the HTTP layer answers it like the gate's: 503 + Retry-After.
    """

    code = "live_unavailable"


class Audience(enum.StrEnum):
    """Who on each instance receives a published payload."""

    ALL = "all"  # every viewer of the session
    STAFF = "staff"  # authenticated hosts and moderators of the session
    CONTROL = "control"  # not forwarded: instructions for the instances themselves


# (session id, audience, encoded event). Called on the event loop; must not block.
Deliver = Callable[[int, Audience, str], None]

CHAT_HISTORY = 50  # lines replayed in a snapshot
CHAT_KEEP = 200  # lines kept (approximately) per session, for moderation lookups
INTENTS_KEEP = 500
STATE_TTL_S = 2 * 24 * 3600  # per-session keys outlive any sale, then go away


def seq_floor(now: float | None = None) -> int:
    """Where a session's seq starts: unix milliseconds x 1000.

    A store that lost its data (or a restarted process) starts again above every seq it
    handed out before, so seq only grows even across a Redis flush, while staying far below
    2**53 (JavaScript's exact integers) for centuries.
    """
    return int((time.time() if now is None else now) * 1000) * 1000


class LiveHub(Protocol):
    """Cross-instance pub/sub and shared state for live rooms."""

    instance_id: str

    async def start(self, deliver: Deliver) -> None:
        """Begin delivering published payloads to `deliver`; returns once subscribed."""
        ...

    async def stop(self) -> None:
        """Stop delivering and cancel background work; idempotent."""
        ...

    async def publish(self, session_id: int, audience: Audience, payload: str) -> None:
        """Send an encoded event to every instance (this one included)."""
        ...

    async def add_chat(self, session_id: int, line: ChatLine) -> ChatLine:
        """Store a chat line (capped history); returns it with its new `id`."""
        ...

    async def recent_chat(self, session_id: int, count: int = CHAT_HISTORY) -> list[ChatLine]:
        """The last `count` stored lines, oldest first, deleted ones left out."""
        ...

    async def find_chat(self, session_id: int, message_id: str) -> ChatLine | None: ...

    async def delete_chat(self, session_id: int, message_id: str) -> bool:
        """Remove a line from the history; False if it was not there."""
        ...

    async def add_intent(self, session_id: int, intent: Intent) -> Intent:
        """Queue a parsed order intent for staff; returns it with its new `id`."""
        ...

    async def recent_intents(self, session_id: int, count: int = 100) -> list[Intent]:
        """The last `count` intents, oldest first."""
        ...

    async def next_seq(self, session_id: int, count: int = 1) -> int:
        """Reserve `count` stock sequence numbers; returns the last one reserved."""
        ...

    async def current_seq(self, session_id: int) -> int:
        """The highest seq handed out so far (seq_floor() if none)."""
        ...

    async def claim_slot(self, session_id: int, name: str, seconds: float) -> float:
        """Take the session's `name` slot for `seconds` across all instances.

        Returns 0.0 when taken, else how many seconds remain until it frees up. The stock
        coalescer uses it so that all instances together publish at most once per slot.
        """
        ...

    async def restrict(self, session_id: int, kind: str, key: str, seconds: float) -> float:
        """Mark `key` (e.g. "c:<client id>") with `kind` ("mute", "ban"); returns the end."""
        ...

    async def restricted_until(
        self, session_id: int, kind: str, keys: Sequence[str]
    ) -> float | None:
        """The latest unix time until which any of `keys` carries `kind`, or None."""
        ...

    async def report_viewers(self, counts: Mapping[int, int], ttl_s: float) -> None:
        """This instance's viewers per session; a count of 0 withdraws the instance."""
        ...

    async def viewer_counts(self, session_ids: Sequence[int]) -> dict[int, int]:
        """Viewers per session summed over instances whose report is younger than its TTL."""
        ...

    async def set_stream_status(self, session_id: int, status: str) -> None: ...

    async def stream_status(self, session_id: int) -> str | None: ...

    async def ping(self) -> bool:
        """True when the hub can answer (readiness)."""
        ...
