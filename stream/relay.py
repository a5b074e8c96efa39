"""The relay: WHIP publishers in, WHEP viewers out, encoded frames passed through.

Decisions a caller relies on:

- A viewer may only join a session that has a publisher, connected or reconnecting:
  `view()` raises `NotLive` when the session has none (never had one, or everybody
  left). A viewer joining while the publisher is away gets its answer at once, pinned to
  the last publisher's codecs, and media starts at the next publisher's first keyframe.
- `max_viewers` caps the connected viewers of the whole relay process, all sessions
  together, because what runs out is this process's CPU; `RelayFull.retry_after` says
  when to try again. Unconnected answers hold no slot (`stream.admission`).
- `on_status(session_id, status)` reports "live" when a publisher's media starts
  flowing and "paused" when it stops: the publisher's connection failed or closed, it
  was deleted, or it sent nothing for `stall_seconds`. The relay never reports "ended":
  ending a session is the server's decision; it calls `close_session()`.
- Stream keys are the caller's business: `publish()` trusts that the caller checked.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from stream.admission import DEFAULT_ANSWER_SECONDS, DEFAULT_PER_ADDRESS, Admission
from stream.errors import NotFound, NotLive, PublisherActive
from stream.ice import kernel_port_range, port_range_problem, rtc_configuration
from stream.keyframes import DEFAULT_INTERVAL_SECONDS
from stream.publisher import Publisher
from stream.restream import Joinable, Target
from stream.room import Room
from stream.tasks import TaskSet
from stream.viewer import Viewer

logger = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], Awaitable[None] | None]

DEFAULT_MAX_VIEWERS = 300
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_STALL_SECONDS = 5.0
DEFAULT_FULL_RETRY_AFTER = 10


def _resource_id() -> str:
    return secrets.token_urlsafe(12)


class Relay:
    """Forwards each session's publisher to its viewers without decoding anything.

    Own it with `start()` / `stop()`: `stop()` closes every peer connection and cancels
    every task the relay started.
    """

    def __init__(
        self,
        ice_servers: list[dict[str, Any]] | None = None,
        *,
        max_viewers: int = DEFAULT_MAX_VIEWERS,
        udp_port_range: tuple[int, int] | None = None,
        on_status: StatusCallback | None = None,
        keyframe_interval: float = DEFAULT_INTERVAL_SECONDS,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        full_retry_after: int = DEFAULT_FULL_RETRY_AFTER,
        per_address: int = DEFAULT_PER_ADDRESS,
        answer_seconds: float = DEFAULT_ANSWER_SECONDS,
        hls_dir: Path | None = None,
    ) -> None:
        self._configuration = rtc_configuration(ice_servers)
        self.max_viewers = max_viewers
        self._udp_port_range = udp_port_range
        self._on_status = on_status
        self._keyframe_interval = keyframe_interval
        self._stall_seconds = stall_seconds
        self._full_retry_after = full_retry_after
        self._rooms: dict[str, Room] = {}
        # Each session's HLS goes to hls_dir/<session id>/ (stream.hls); None: no HLS.
        self.hls_dir = hls_dir
        # Each session's RTMP/RTMPS destinations (stream.restream), set by the caller.
        self._restream_targets: dict[str, list[Target]] = {}
        self._tasks = TaskSet()
        self._statuses: asyncio.Queue[tuple[str, str]] | None = None
        self._admission = Admission(
            max_viewers,
            per_address=per_address,
            answer_seconds=answer_seconds,
            retry_after=full_retry_after,
        )
        self._running = False

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        if self._udp_port_range is not None:
            problem = port_range_problem(self._udp_port_range, kernel_port_range())
            if problem:
                logger.warning("relay: %s", problem)
        self._statuses = asyncio.Queue()
        self._tasks.spawn(self._deliver_statuses(), name="relay-status")
        self._tasks.spawn(self._watch_stalls(), name="relay-stalls")
        self._running = True

    async def stop(self) -> None:
        """Close every peer connection and cancel every task; no status is reported."""
        self._running = False
        peers: list[Publisher | Viewer] = []
        closing: list[Joinable] = []
        for room in self._rooms.values():
            closing.extend(room.restream.close())
            peers.extend(room.close())
        self._rooms.clear()
        self._admission.close()
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
        await self._tasks.close()
        await _join(closing)
        self._statuses = None

    @property
    def running(self) -> bool:
        return self._running

    # -- WHIP / WHEP -------------------------------------------------------------------

    async def publish(
        self, session_id: str, offer_sdp: str, *, takeover: bool = False
    ) -> tuple[str, str]:
        """Accept a publisher; viewers stay across publishers.

        While another publisher holds the session (`Room.active`) a new one is refused
        with `PublisherActive` unless `takeover`; even then it replaces the current one
        only once its media flows (see `Room`).
        """
        self._check_running()
        room = self._room(session_id, create=True)
        assert room is not None
        if room.active and not takeover:
            self._discard_if_empty(room)
            raise PublisherActive()
        publisher = Publisher(
            _resource_id(),
            room.next_epoch(),
            self._configuration,
            room.on_packet,
            self._tasks,
        )
        room.pending += 1
        try:
            answer = await publisher.negotiate(offer_sdp)
        except BaseException:
            room.pending -= 1
            self._discard_if_empty(room)
            await publisher.close()
            raise
        room.pending -= 1
        if not self._running or self._rooms.get(session_id) is not room:
            # stop() or close_session() ran while we negotiated.
            await publisher.close()
            raise NotLive("the session was closed")
        if room.active and not takeover:
            # Another publisher connected while this one negotiated.
            await publisher.close()
            raise PublisherActive()
        self._retire(room.offer_publisher(publisher))

        def on_state() -> None:
            if publisher.pc.connectionState in ("failed", "closed"):
                room.publisher_gone(publisher)
                self._tasks.spawn(publisher.close(), name=f"close-{publisher.resource_id}")
                self._discard_if_empty(room)

        publisher.pc.on("connectionstatechange", on_state)
        return publisher.resource_id, answer

    def _retire(self, peers: list[Publisher | Viewer]) -> None:
        for peer in peers:
            self._admission.release(peer.resource_id)
            self._tasks.spawn(peer.close(), name=f"close-{peer.resource_id}")

    async def view(self, session_id: str, offer_sdp: str, *, address: str = "") -> tuple[str, str]:
        """Accept a viewer of a session that has a publisher (see the module docstring).

        The answer holds no slot until its ICE connects (`stream.admission`): it expires
        unconnected after `answer_seconds`, and `address` (the client's) may hold only
        a few unconnected answers at once.
        """
        self._check_running()
        room = self._room(session_id)
        if room is None or not room.codecs:
            raise NotLive()
        resource_id = _resource_id()
        self._admission.reserve(resource_id, address)
        viewer = Viewer(resource_id, self._configuration)
        room.pending += 1
        try:
            answer = await viewer.negotiate(
                offer_sdp,
                room.codecs,
                request_keyframe=room.request_keyframe,
                packetizer=room.packetizer,
            )
        except BaseException:
            self._admission.release(resource_id)
            room.pending -= 1
            self._discard_if_empty(room)
            await viewer.close()
            raise
        room.pending -= 1
        if not self._running or self._rooms.get(session_id) is not room:
            self._admission.release(resource_id)
            await viewer.close()
            raise NotLive("the session was closed")
        room.add_viewer(viewer)
        viewer.pc.on("connectionstatechange", lambda: self._viewer_state(room, viewer))
        self._admission.expire_unless_connected(
            resource_id, lambda: self._drop_viewer(room, viewer)
        )
        return resource_id, answer

    def _viewer_state(self, room: Room, viewer: Viewer) -> None:
        state = viewer.pc.connectionState
        if state == "connected":
            if not self._admission.connect(viewer.resource_id):
                # Expired while ICE finished, or every slot filled meanwhile.
                self._drop_viewer(room, viewer)
        elif state in ("failed", "closed"):
            self._drop_viewer(room, viewer)

    def _drop_viewer(self, room: Room, viewer: Viewer) -> None:
        self._admission.release(viewer.resource_id)
        if room.remove_viewer(viewer.resource_id) is not None:
            self._tasks.spawn(viewer.close(), name=f"close-{viewer.resource_id}")
        self._discard_if_empty(room)

    async def delete(self, session_id: str, resource_id: str) -> None:
        """End a publisher or viewer resource; NotFound if the session has no such resource."""
        room = self._room(session_id)
        if room is None:
            raise NotFound()
        publisher = next(
            (p for p in (room.publisher, room.candidate) if p and p.resource_id == resource_id),
            None,
        )
        if publisher is not None:
            room.publisher_gone(publisher)
            await publisher.close()
        else:
            viewer = room.remove_viewer(resource_id)
            if viewer is None:
                raise NotFound()
            self._admission.release(resource_id)
            await viewer.close()
        self._discard_if_empty(room)

    async def close_session(self, session_id: str) -> None:
        """Disconnect a session's publisher and viewers (the session ended); no-op if unknown."""
        self._restream_targets.pop(session_id, None)
        room = self._rooms.pop(session_id, None)
        if room is None:
            return
        peers = room.close()
        for peer in peers:
            self._admission.release(peer.resource_id)
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)

    # -- restream ----------------------------------------------------------------------

    def set_restream(self, session_id: str, targets: list[Target]) -> None:
        """The session's RTMP/RTMPS destinations from now on (the caller keeps them).

        A live room applies them at once; a room opened later starts with them.
        """
        if targets:
            self._restream_targets[session_id] = list(targets)
        else:
            self._restream_targets.pop(session_id, None)
        room = self._rooms.get(session_id)
        if room is not None:
            room.restream.configure(list(targets))

    def restream_states(self, session_id: str) -> dict[str, tuple[str, str | None]]:
        """Per destination URL: (idle | connecting | live | error, reason); {} if no room."""
        room = self._rooms.get(session_id)
        return room.restream.states() if room is not None else {}

    # -- introspection -----------------------------------------------------------------

    @property
    def viewer_count(self) -> int:
        """Viewers with an answer, connected or not yet."""
        return sum(len(room.viewers) for room in self._rooms.values())

    @property
    def admission(self) -> Admission:
        """Slots and pending answers, for tests and diagnostics."""
        return self._admission

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per session: status, publisher connected, viewers, codecs, frame counters."""
        return {session_id: room.stats() for session_id, room in self._rooms.items()}

    def room(self, session_id: str) -> Room | None:
        """The session's room, for tests and diagnostics."""
        return self._rooms.get(session_id)

    # -- internals ---------------------------------------------------------------------

    def _check_running(self) -> None:
        if not self._running:
            raise RuntimeError("Relay.start() must be awaited before use")

    def _room(self, session_id: str, *, create: bool = False) -> Room | None:
        room = self._rooms.get(session_id)
        if room is None and create:
            room = self._rooms[session_id] = Room(
                session_id,
                emit_status=self._emit_status,
                retire=self._retire,
                hls_dir=self._hls_dir_of(session_id),
                keyframe_interval=self._keyframe_interval,
                restream_targets=self._restream_targets.get(session_id),
            )
        return room

    def _hls_dir_of(self, session_id: str) -> Path | None:
        # The session id becomes a directory name: only plain ids get one.
        if self.hls_dir is None or not _SAFE_NAME.fullmatch(session_id):
            return None
        return self.hls_dir / session_id

    def _discard_if_empty(self, room: Room) -> None:
        if room.empty and self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]
            room.close()

    def _emit_status(self, session_id: str, status: str) -> None:
        if self._statuses is not None:
            self._statuses.put_nowait((session_id, status))

    async def _deliver_statuses(self) -> None:
        # One consumer keeps the callbacks in order: "paused" then "live" must not
        # arrive swapped because the first callback awaited longer.
        assert self._statuses is not None
        statuses = self._statuses
        while True:
            session_id, status = await statuses.get()
            if self._on_status is None:
                continue
            try:
                result = self._on_status(session_id, status)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("relay on_status(%r, %r) failed", session_id, status)

    async def _watch_stalls(self) -> None:
        interval = min(1.0, self._stall_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            for room in list(self._rooms.values()):
                room.check_stalled(self._stall_seconds)


async def _join(destinations: list[Joinable], within: float = 5.0) -> None:
    """Wait (off the loop) for stopped destinations' threads to close their connections."""

    def join_all() -> None:
        deadline = time.monotonic() + within
        for destination in destinations:
            destination.join(max(0.0, deadline - time.monotonic()))

    if destinations:
        await asyncio.to_thread(join_all)
