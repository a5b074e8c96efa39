"""One viewer's outgoing track: a bounded queue of encoded packets its sender drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.packets import EncodedPacket

# About a second of media. A viewer further behind than that is better served by
# skipping to the next keyframe than by watching the past.
VIDEO_QUEUE_FRAMES = 30
AUDIO_QUEUE_FRAMES = 50


class PacketTrack(MediaStreamTrack):
    """Feeds one viewer's `RTCRtpSender` with the publisher's packets, never blocking the publisher.

    The track stays idle until the sender first asks for a packet (the viewer's DTLS
    handshake is done), then calls `on_start` so the room can ask the publisher for a
    keyframe. Video is held back until a keyframe arrives, and again after an overflow:
    a slow viewer loses frames, not the other viewers' time.
    """

    def __init__(
        self,
        kind: str,
        *,
        on_start: Callable[[], None] | None = None,
        on_keyframe_needed: Callable[[], None] | None = None,
        max_queue: int | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        if max_queue is None:
            max_queue = VIDEO_QUEUE_FRAMES if kind == "video" else AUDIO_QUEUE_FRAMES
        self._queue: asyncio.Queue[EncodedPacket | None] = asyncio.Queue(maxsize=max_queue)
        self._on_start = on_start
        self._on_keyframe_needed = on_keyframe_needed
        self.started = False
        self.needs_keyframe = kind == "video"
        self.forwarded = 0
        # Frames skipped while waiting for a keyframe, and frames lost to a full queue.
        self.skipped = 0
        self.dropped = 0

    def push(self, packet: EncodedPacket) -> None:
        """Offer one packet; it is dropped rather than queued if the viewer can't use it."""
        if not self.started or self.readyState != "live":
            return
        if self.needs_keyframe:
            if not packet.is_keyframe:
                self.skipped += 1
                return
            self.needs_keyframe = False
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.kind == "video":
                # Later frames reference the one we drop: flush and restart at a keyframe.
                self._drain()
                self.wait_for_keyframe()
            else:
                # Audio frames stand alone: keep the freshest.
                self._queue.get_nowait()
                self._queue.put_nowait(packet)
            return
        self.forwarded += 1

    def wait_for_keyframe(self) -> None:
        """Hold video back until the next keyframe (after a drop or a new publisher)."""
        if self.kind != "video" or self.needs_keyframe:
            return
        self.needs_keyframe = True
        if self.started and self._on_keyframe_needed is not None:
            self._on_keyframe_needed()

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def recv(self) -> EncodedPacket:
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            self.started = True
            if self._on_start is not None:
                self._on_start()
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            # Wake a sender blocked in recv() so its RTP task ends now, not at close().
            self._drain()
            self._queue.put_nowait(None)
        super().stop()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
