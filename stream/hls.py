"""HLS (fMP4) of a session's H.264 publisher, muxed from its packets: video is never re-encoded.

The relay already holds each H.264 access unit as the publisher sent it (SPS/PPS made
whole by `stream.parameter_sets`); ffmpeg's HLS muxer (through PyAV) puts them into
fMP4 segments as they come. Only audio is transcoded, Opus to AAC, since HLS players
(Safari, hls.js on most browsers) cannot count on Opus in MP4.

Layout under the session's directory, so any HTTP cache or CDN can serve it:

- `index.m3u8`: the playlist (an EVENT playlist while live, `#EXT-X-ENDLIST` once the
  room closes, so it doubles as the replay), rewritten atomically;
- `<run>/init.mp4` and `<run>/seg00000.m4s`...: never rewritten, cacheable forever. A
  run is one recorder's lifetime; a later run (the room closed and opened again)
  writes a new directory and takes over the playlist.

Segments are cut at keyframes at least `segment_seconds` apart, so the recorder asks the
publisher for a keyframe each segment (browsers send them rarely unless asked).
"""

from __future__ import annotations

import fractions
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from stream.packets import EncodedPacket

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
PLAYLIST = "index.m3u8"
RUN_FILE = "run.json"
DEFAULT_SEGMENT_SECONDS = 2.0
KEYFRAME_RETRY_S = 0.5  # a keyframe request that brought none is repeated this often


class HlsRecorder:
    """One run of a session's HLS: open at the first keyframe, `close()` ends the playlist."""

    def __init__(
        self,
        directory: Path,
        *,
        has_audio: bool,
        segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
        request_keyframe: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.run = f"r{int(time.time() * 1000):x}"
        self.has_audio = has_audio
        self.segment_seconds = segment_seconds
        self._request_keyframe = request_keyframe
        self._clock = clock
        self._container: Any = None
        self._video: Any = None
        self._audio: Any = None
        self._opus: Any = None
        self._t0 = 0.0
        # Per kind: (the publisher's first pts, where it lands on the output clock).
        self._bases: dict[str, tuple[int, int]] = {}
        self._last: dict[str, int] = {}
        self._last_keyframe_at = 0.0  # when a keyframe was last asked for (wall clock)
        self._boundary = segment_seconds  # media time of the next segment cut
        self.started_at: float | None = None  # wall clock (time.time()) of the first frame
        self.frames = 0
        self.closed = False

    @property
    def open(self) -> bool:
        return self._container is not None and not self.closed

    @property
    def duration_s(self) -> float:
        return self._last.get("video", 0) / VIDEO_CLOCK

    def push(self, kind: str, packet: EncodedPacket) -> None:
        """Add one of the publisher's frames (H.264 video or Opus audio); never raises."""
        if self.closed:
            return
        try:
            if kind == "video":
                self._push_video(packet)
            elif self._container is not None and self._audio is not None:
                self._push_audio(packet)
        except Exception:
            # A broken recording must never cost the live stream.
            logger.exception("HLS recording of %s failed; it stops here", self.directory)
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        container, self._container = self._container, None
        if container is None:
            return
        try:
            if self._audio is not None:
                for out in self._audio.encode(None):
                    container.mux(out)
            container.close()
        except Exception:
            logger.exception("could not finish the HLS playlist in %s", self.directory)

    # -- internals -------------------------------------------------------------------

    def _push_video(self, packet: EncodedPacket) -> None:
        now = self._clock()
        if self._container is None:
            if not packet.is_keyframe:
                self._ask_keyframe(now)
                return
            self._start(packet, now)
        pts = self._out_pts("video", packet.pts or 0, VIDEO_CLOCK, now)
        self._keyframe_due(pts / VIDEO_CLOCK, packet.is_keyframe, now)
        out = av.Packet(bytes(packet))
        out.pts = out.dts = pts
        out.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        out.is_keyframe = packet.is_keyframe
        out.stream = self._video
        self._container.mux(out)
        self.frames += 1

    def _push_audio(self, packet: EncodedPacket) -> None:
        pts = self._out_pts("audio", packet.pts or 0, AUDIO_RATE, self._clock())
        for frame in self._opus.decode(av.Packet(bytes(packet))):
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, AUDIO_RATE)
            pts += frame.samples
            for out in self._audio.encode(frame):
                self._container.mux(out)

    def _start(self, keyframe: EncodedPacket, now: float) -> None:
        width, height = _dimensions(bytes(keyframe))
        run_dir = self.directory / self.run
        run_dir.mkdir(parents=True, exist_ok=True)
        options = {
            "hls_time": f"{self.segment_seconds:g}",
            "hls_segment_type": "fmp4",
            "hls_list_size": "0",
            "hls_playlist_type": "event",
            "hls_flags": "independent_segments+temp_file",
            "hls_fmp4_init_filename": f"{self.run}/init.mp4",
            "hls_segment_filename": str(run_dir / "seg%05d.m4s"),
            "hls_base_url": f"{self.run}/",
        }
        container = av.open(str(self.directory / PLAYLIST), "w", format="hls", options=options)
        self._video = container.add_mux_stream("h264", width=width, height=height)
        self._video.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        if self.has_audio:
            # FFmpeg's default AAC coder ("twoloop") takes twice the CPU of "fast", on the
            # event loop, for no audible gain on a seller's voice (0.5 -> 0.3 ms per
            # 20 ms frame here; stream/aac.py chose the same for the restream).
            self._audio = container.add_stream(
                "aac", rate=AUDIO_RATE, layout="stereo", options={"aac_coder": "fast"}
            )
            self._audio.bit_rate = 96000
            self._opus = av.CodecContext.create("opus", "r")
        self._container = container
        self._t0 = now
        self._last_keyframe_at = now
        self.started_at = time.time()
        # When the recording begins, so a replay can place moments (server/replay.py).
        sidecar = self.directory / RUN_FILE
        temporary = sidecar.with_suffix(".tmp")
        temporary.write_text(json.dumps({"run": self.run, "started_at": self.started_at}))
        temporary.replace(sidecar)

    def _out_pts(self, kind: str, pts: int, rate: int, now: float) -> int:
        base = self._bases.get(kind)
        if base is None:
            # Each kind starts where the wall clock says it arrived after the first
            # keyframe, which keeps audio and video together without RTCP sender reports.
            base = self._bases[kind] = (pts, round((now - self._t0) * rate))
        out = pts - base[0] + base[1]
        last = self._last.get(kind)
        if last is not None and out <= last:
            out = last + 1
        self._last[kind] = out
        return out

    def _keyframe_due(self, media_s: float, keyframe: bool, now: float) -> None:
        """Ask for the keyframe that starts the next segment when the recording's own clock
        reaches the segment boundary (ffmpeg cuts at the first keyframe at or past each
        multiple of the segment length). Timed on the wall clock instead, a keyframe that
        arrives a little early (keyframes take longer to encode and send) lands before the
        boundary, is not cut at, and makes a segment twice as long: the playlist's target
        duration, and every player's latency, grow with it."""
        if keyframe and media_s >= self._boundary:
            # This keyframe starts a segment; the next boundary is one segment on.
            self._boundary = (int(media_s / self.segment_seconds) + 1) * self.segment_seconds
            return
        if media_s >= self._boundary and now - self._last_keyframe_at >= KEYFRAME_RETRY_S:
            self._ask_keyframe(now)  # again every KEYFRAME_RETRY_S until one comes

    def _ask_keyframe(self, now: float) -> None:
        if self._request_keyframe is not None:
            self._last_keyframe_at = now
            self._request_keyframe()


def _dimensions(keyframe: bytes) -> tuple[int, int]:
    """The picture size, read by decoding the first keyframe once (the only decode)."""
    decoder = av.CodecContext.create("h264", "r")
    try:
        for frame in decoder.decode(av.Packet(keyframe)):
            return frame.width, frame.height
        for frame in decoder.decode(None):
            return frame.width, frame.height
    except av.error.FFmpegError:
        pass
    return 0, 0
