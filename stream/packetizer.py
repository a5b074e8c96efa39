"""Split encoded frames into RTP payloads once per session, not once per viewer."""

from __future__ import annotations

from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.packets import EncodedPacket

# Viewers' queues hold at most about a second of frames; anything older than this many
# frames is no longer in any queue.
RECENT_FRAMES = 64

Payloads = tuple[list[bytes], int]


class Packetizer:
    """Packetises each frame of one session's stream once; every viewer's sender reuses it.

    Packetising is a tenth of the relay's work per viewer, and its result only differs
    between viewers by the VP8 picture ID, which may as well be the session's: every
    viewer starts at a keyframe, where a jump in picture IDs means nothing.
    """

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.codec_name = codec.name
        # aiortc's VP8 and H.264 encoders open no codec context until encode() is first
        # called, so they serve as packetisers; Opus has no RTP framing to speak of.
        self._packer: Vp8Encoder | H264Encoder | None
        name = codec.name.lower()
        if name == "vp8":
            self._packer = Vp8Encoder()
        elif name == "h264":
            self._packer = H264Encoder()
        elif name == "opus":
            self._packer = None
        else:
            raise ValueError(f"the relay cannot forward {codec.mimeType}")
        # id(packet) -> (packet, payloads); holding the packet keeps its id from being reused.
        self._recent: dict[int, tuple[EncodedPacket, Payloads]] = {}
        self.frames = 0

    def pack(self, packet: EncodedPacket) -> Payloads:
        cached = self._recent.get(id(packet))
        if cached is not None and cached[0] is packet:
            return cached[1]
        payloads = self._split(packet)
        self._recent[id(packet)] = (packet, payloads)
        if len(self._recent) > RECENT_FRAMES:
            del self._recent[next(iter(self._recent))]
        self.frames += 1
        return payloads

    def _split(self, packet: EncodedPacket) -> Payloads:
        if self._packer is not None:
            return self._packer.pack(packet)
        # One Opus frame is one RTP payload (RFC 7587), already timed on its own clock.
        return [bytes(packet)], packet.pts if packet.pts is not None else 0
