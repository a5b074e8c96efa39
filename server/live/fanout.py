"""Fan-out on one instance: the rooms, their viewers, and delivery of hub payloads.

`deliver` is the hub's callback. It runs on the event loop and writes each payload to
every local viewer of the session in one pass, without awaiting anyone: a frame is built
once per payload and the same bytes go to every socket (sinks.DirectSink). A viewer whose
sink refuses (too far behind) is dropped with close code 4000 after the pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from server.live.sinks import Sink, text_frame
from shop.live.events import STOCK_PREFIX
from shop.live.hub import Audience
from shop.live.ratelimit import TokenBucket
from shop.live.restrictions import Identity

log = logging.getLogger("farmlive.live")

SLOW_CODE, SLOW_REASON = 4000, "too slow: events were not read in time"


class Viewer:
    """One WebSocket client of one session on this instance."""

    __slots__ = (
        "chat_bucket",
        "client_id",
        "frames",
        "identity",
        "ip",
        "name",
        "pending",
        "role",
        "sink",
        "user_id",
    )

    def __init__(
        self,
        sink: Sink,
        *,
        client_id: str,
        ip: str,
        chat_bucket: TokenBucket,
        frames: TokenBucket,
        device: str = "",
    ) -> None:
        self.sink = sink
        self.client_id = client_id
        self.ip = ip
        # Everything this socket has been known by: what mutes and bans are checked on.
        self.identity = Identity([client_id], device=device, ip=ip)
        self.name: str | None = None
        self.role: str | None = None  # set once a staff token is accepted
        self.user_id: int | None = None
        self.chat_bucket = chat_bucket
        self.frames = frames
        # Events that arrive before the snapshot went out wait here (then pending = None).
        self.pending: list[str] | None = []

    @property
    def staff(self) -> bool:
        return self.role is not None


@dataclass(eq=False)
class Room:
    viewers: set[Viewer] = field(default_factory=set)
    staff: set[Viewer] = field(default_factory=set)
    last_seq: dict[int, int] = field(default_factory=dict)  # lot -> last stock seq sent

    def fresh_stock(self, payload: str) -> bool:
        """False for a stock event no newer than one already forwarded for its lot."""
        try:
            data = json.loads(payload)
            lot_id, seq = int(data["lot_id"]), int(data["seq"])
        except (ValueError, KeyError, TypeError):
            return True
        if seq <= self.last_seq.get(lot_id, 0):
            return False
        self.last_seq[lot_id] = seq
        return True


class Fanout:
    def __init__(
        self, *, max_pending: int = 1000, on_drop: Callable[[], None] | None = None
    ) -> None:
        self.rooms: dict[int, Room] = {}
        self._max_pending = max_pending
        self._on_drop = on_drop
        self.delivered = 0  # frames written (or queued) to viewers
        self.dropped = 0  # viewers dropped for being slow
        self.stale_stock = 0  # stock events skipped for an old seq

    # -- membership -----------------------------------------------------------------
    def join(self, session_id: int, viewer: Viewer) -> None:
        self.rooms.setdefault(session_id, Room()).viewers.add(viewer)

    def promote(self, session_id: int, viewer: Viewer) -> None:
        room = self.rooms.get(session_id)
        if room is not None and viewer in room.viewers:
            room.staff.add(viewer)

    def leave(self, session_id: int, viewer: Viewer) -> None:
        room = self.rooms.get(session_id)
        if room is None:
            return
        room.viewers.discard(viewer)
        room.staff.discard(viewer)
        if not room.viewers:
            del self.rooms[session_id]

    def counts(self) -> dict[int, int]:
        return {session_id: len(room.viewers) for session_id, room in self.rooms.items()}

    @property
    def total(self) -> int:
        return sum(len(room.viewers) for room in self.rooms.values())

    # -- delivery -------------------------------------------------------------------
    def deliver(self, session_id: int, audience: Audience, payload: str) -> None:
        room = self.rooms.get(session_id)
        if room is None:
            return
        if audience is Audience.CONTROL:
            self._control(session_id, room, payload)
            return
        if payload.startswith(STOCK_PREFIX) and not room.fresh_stock(payload):
            self.stale_stock += 1
            return
        targets = room.staff if audience is Audience.STAFF else room.viewers
        frame = text_frame(payload)
        slow: list[Viewer] = []
        max_pending = self._max_pending
        for viewer in targets:
            pending = viewer.pending
            if pending is not None:
                if len(pending) < max_pending:
                    pending.append(payload)
                else:
                    slow.append(viewer)
            elif not viewer.sink.send(frame, payload):
                slow.append(viewer)
        self.delivered += len(targets) - len(slow)
        for viewer in slow:
            self.drop(session_id, viewer, SLOW_CODE, SLOW_REASON)

    def go_live(self, viewer: Viewer, snapshot: str, keep: Callable[[str], bool]) -> bool:
        """Send the snapshot, then what arrived meanwhile (filtered by `keep`); direct after."""
        pending, viewer.pending = viewer.pending or [], None
        ok = viewer.sink.send_text(snapshot)
        for payload in pending:
            if ok and keep(payload):
                ok = viewer.sink.send_text(payload)
        return ok

    def drop(self, session_id: int, viewer: Viewer, code: int, reason: str) -> None:
        viewer.sink.close(code, reason)
        self.leave(session_id, viewer)
        if code == SLOW_CODE:
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop()

    def _control(self, session_id: int, room: Room, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if data.get("type") == "kick":
            client_id, device = str(data.get("client_id")), str(data.get("device") or "")
            for viewer in [v for v in room.viewers if v.identity.known_as(client_id, device)]:
                self.drop(session_id, viewer, int(data["code"]), str(data["reason"]))
