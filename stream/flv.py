"""One RTMP connection's FLV muxer: the publisher's H.264 as it came, its Opus as AAC.

The relay holds each H.264 access unit in Annex B form with SPS/PPS in front of every
keyframe (`stream.parameter_sets`). FFmpeg's FLV muxer writes the AVC sequence header
from the stream's extradata and turns Annex B units into length-prefixed ones itself
once that extradata is Annex B too; the extradata (and the picture size) come from the
first keyframe, read by FFmpeg's raw H.264 demuxer, so nothing is decoded or encoded.
Audio is the only transcode (RTMP platforms take AAC, not Opus), done once per room
for all its destinations by `stream.aac`: the muxer gets AAC frames and only muxes
them, into a stream whose header comes from an AAC encoder of the same settings.

Timestamps start at zero for each connection. Each kind starts where the wall clock
says it arrived after the first keyframe (as `stream.hls` does) and then follows its
own RTP clock, never going back.

Blocking: `connect()` opens the connection (TCP, RTMP handshake, FLV header) and
`write()` may wait on the network; both belong on the destination's own thread.
"""

from __future__ import annotations

import fractions
import io
from dataclasses import dataclass
from typing import Any

import av

VIDEO_CLOCK = 90000
AUDIO_RATE = 48000
MS = fractions.Fraction(1, 1000)
AAC_BIT_RATE = 128000

# FLV on a network: no seeking back to write duration and size; RTMP "live" publishing.
# Interleaving waits at most half a second: a lagging kind must not hold the other back.
_CONTAINER_OPTIONS = {"flvflags": "no_duration_filesize", "max_interleave_delta": "500000"}


@dataclass(frozen=True, slots=True)
class Frame:
    """One of the publisher's frames, as every destination of the room receives it."""

    kind: str  # "video" (H.264, Annex B), "audio" (Opus) or "aac" (from stream.aac)
    data: bytes
    pts: int  # on the kind's clock (90 kHz video, 48 kHz audio)
    keyframe: bool
    arrived: float  # monotonic seconds, when the relay got it


class FlvMuxer:
    """FLV to one RTMP URL, opened from the first keyframe; `close()` ends the stream."""

    def __init__(self, url: str, first: Frame, *, has_audio: bool, channels: int = 1) -> None:
        self._container: Any = av.open(
            url, "w", format="flv", container_options=dict(_CONTAINER_OPTIONS)
        )
        with av.open(io.BytesIO(first.data), format="h264") as source:
            template = source.streams.video[0]
            self.width = template.codec_context.width
            self.height = template.codec_context.height
            self._video = self._container.add_stream_from_template(template, opaque=True)
        self._video.time_base = MS
        self._audio: Any = None
        if has_audio:
            # An encoder context of stream.aac's settings, never fed: it only gives the
            # FLV its AAC sequence header (the same AudioSpecificConfig).
            self._audio = self._container.add_stream(
                "aac", rate=AUDIO_RATE, layout=aac_layout(channels)
            )
            self._audio.bit_rate = AAC_BIT_RATE if channels == 2 else AAC_BIT_RATE * 3 // 4
        self._t0 = first.arrived
        # Per kind: (the publisher's first pts, where it lands on the output clock).
        self._bases: dict[str, tuple[int, float]] = {}
        self._last_ms = {"video": -1, "aac": -1}
        self.frames = 0
        self.bytes = 0

    def connect(self) -> None:
        """Open the connection and send the FLV header (blocking)."""
        self._container.start_encoding()

    def write(self, frame: Frame) -> None:
        if frame.kind == "video":
            self._mux(frame, self._video, VIDEO_CLOCK)
        elif frame.kind == "aac" and self._audio is not None:
            self._mux(frame, self._audio, AUDIO_RATE)

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()

    # -- internals -------------------------------------------------------------------

    def _mux(self, frame: Frame, stream: Any, rate: int) -> None:
        ms = round(self._on_output_clock(frame, rate) * 1000)
        ms = max(ms, self._last_ms[frame.kind] + 1)
        self._last_ms[frame.kind] = ms
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.is_keyframe = frame.keyframe
        packet.stream = stream
        self._container.mux(packet)
        self.frames += 1
        self.bytes += len(frame.data)

    def _on_output_clock(self, frame: Frame, rate: int) -> float:
        """Seconds since this connection's first keyframe, on the frame's own clock."""
        base = self._bases.get(frame.kind)
        if base is None:
            base = self._bases[frame.kind] = (frame.pts, max(0.0, frame.arrived - self._t0))
        return max(0.0, base[1] + (frame.pts - base[0]) / rate)


def aac_layout(channels: int) -> str:
    # The publisher's own channel count: browsers' microphones are mono (Opus without
    # sprop-stereo=1), and mono AAC costs half the encoder time of stereo.
    return "stereo" if channels == 2 else "mono"
