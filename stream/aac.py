"""The room's one Opus -> AAC transcoder for all its restream destinations, on its own thread.

Decoding Opus and encoding AAC is most of what a destination would cost (bench/
restream.py), and every destination needs the same AAC: so a room encodes it once and
hands each AAC frame to every destination (`stream.rtmp`), whose FLV muxer only muxes
it. The event loop only queues Opus packets here (bounded; when full, packets are
dropped: a gap in the sound, never a wait).

Output timestamps are samples on the room's audio clock, starting at the publisher's
first RTP timestamp and running on without a break: a gap (lost packets) is filled
with silence, so the AAC stays in step with the video, and jitter never rewinds it.
"""

from __future__ import annotations

import fractions
import logging
import queue
import threading
from collections.abc import Callable

import av

from stream.flv import AAC_BIT_RATE, AUDIO_RATE, Frame, aac_layout

logger = logging.getLogger(__name__)

QUEUE_PACKETS = 250  # 5 s of 20 ms Opus packets
MAX_SILENCE = 2 * AUDIO_RATE  # a longer gap (the publisher stalled) is not filled further
_STOP = object()


class AacTranscoder:
    """Opus packets in (`push`, from the loop), AAC `Frame`s out to `deliver` (its thread)."""

    def __init__(self, deliver: Callable[[Frame], None], *, channels: int = 1) -> None:
        self._deliver = deliver
        self.channels = channels
        self._queue: queue.Queue[Frame | object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._thread = threading.Thread(target=self._run, name="restream aac", daemon=True)
        self.dropped = 0
        self.encoded = 0

    def start(self) -> None:
        self._thread.start()

    def push(self, frame: Frame) -> None:
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def stop(self) -> None:
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            # Full: make room for the stop; the packets dropped were going nowhere now.
            self._drain()
            self._queue.put_nowait(_STOP)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        decoder = av.CodecContext.create("opus", "r")
        encoder = av.CodecContext.create("aac", "w")
        encoder.sample_rate = AUDIO_RATE
        encoder.layout = aac_layout(self.channels)
        encoder.format = "fltp"
        encoder.bit_rate = AAC_BIT_RATE if self.channels == 2 else AAC_BIT_RATE * 3 // 4
        encoder.time_base = fractions.Fraction(1, AUDIO_RATE)
        # FFmpeg's default coder ("twoloop") takes twice the CPU for no audible gain on a
        # seller's voice at 96-128 kbit/s (measured: 2.1 % -> 1.0 % of a core, mono).
        encoder.options = {"aac_coder": "fast"}
        next_sample: int | None = None
        while True:
            item = self._queue.get()
            if not isinstance(item, Frame):
                return
            try:
                frames = list(decoder.decode(av.Packet(item.data)))
            except av.error.FFmpegError as exc:
                # One bad packet costs its 20 ms of sound, not the restream.
                logger.info("restream audio: skipped a packet (%s)", type(exc).__name__)
                continue
            if next_sample is None:
                next_sample = item.pts
            gap = min(item.pts - next_sample, MAX_SILENCE)
            if gap >= 480:  # 10 ms or more missing: silence keeps the clock honest
                frames.insert(0, _silence(gap, self.channels))
            for decoded in frames:
                decoded.pts = next_sample
                decoded.time_base = encoder.time_base
                next_sample += decoded.samples
                for packet in encoder.encode(decoded):
                    self.encoded += 1
                    self._deliver(
                        Frame("aac", bytes(packet), int(packet.pts or 0), False, item.arrived)
                    )


def _silence(samples: int, channels: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="fltp", layout=aac_layout(channels), samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = AUDIO_RATE
    return frame
