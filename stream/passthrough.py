"""The aiortc 1.16 hooks that turn its media pipeline into a passthrough.

aiortc is built to decode what it receives and encode what it sends. A relay wants
neither, so it reaches into four internals, each pinned by a test in
`tests/stream/test_aiortc_internals.py` that fails loudly if an upgrade moves them:

- `RTCRtpReceiver._RTCRtpReceiver__decoder_queue`: after depayloading and reassembling a
  frame in its jitter buffer, the receiver puts `(codec, JitterFrame)` on this
  `queue.Queue`, which a decoder thread started by `receive()` drains. `FrameTap`
  replaces the queue before `receive()` runs: frames arrive on the event loop, already
  reassembled, and the thread finds nothing to decode and exits at once.
- `RTCRtpSender._RTCRtpSender__encoder`: the sender creates its encoder lazily and calls
  `encoder.pack(packet)` instead of `encode(frame)` when its track yields an
  `av.Packet`. `PacketOnlyEncoder` is installed up front so no codec context (libvpx,
  libx264, libopus) is ever opened on the relay, an accidental decoded frame fails
  loudly instead of being re-encoded, and packetising is shared by a session's viewers
  (`stream.packetizer`).
- `RTCRtpSender._send_keyframe()`: called when the remote sends a PLI or FIR. It only
  flags the encoder, which a passthrough never uses, so it is replaced per sender to
  forward the request to the publisher.
- `RTCRtpReceiver._RTCRtpReceiver__jitter_buffer`: for audio aiortc holds four packets
  back (80 ms) to smooth playback. A relay plays nothing back, and the viewer's own
  jitter buffer smooths anyway, so audio receivers get one that releases each packet as
  soon as the next arrives, as video does; this also keeps audio and video equally late.
- `RTCRtpReceiver._send_rtcp_pli(media_ssrc)` sends a PLI, and
  `RTCRtpReceiver._RTCRtpReceiver__rtx_ssrc` tells the retransmission SSRC apart from
  the media SSRC a PLI must name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame

from stream.packetizer import Packetizer
from stream.packets import EncodedPacket, encoded_packet

logger = logging.getLogger(__name__)

PacketHandler = Callable[[RTCRtpCodecParameters, EncodedPacket], None]


class FrameTap:
    """Stands in for a receiver's decoder queue and hands each encoded frame on as a packet.

    aiortc calls `put()` on the event loop thread from `_handle_rtp_packet`, and `get()`
    from its decoder thread.
    """

    def __init__(self, on_packet: PacketHandler, on_end: Callable[[], None] | None = None) -> None:
        self._on_packet = on_packet
        self._on_end = on_end
        self.frames = 0
        self.bytes = 0
        self.ended = False

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:
            # The receiver stops its "decoder": RTCP BYE, transport gone, or stop().
            if not self.ended:
                self.ended = True
                if self._on_end is not None:
                    self._on_end()
            return
        codec, frame = item
        if not frame.data:
            return
        self.frames += 1
        self.bytes += len(frame.data)
        try:
            self._on_packet(codec, encoded_packet(codec, frame.data, frame.timestamp))
        except Exception:
            # An exception here would unwind aiortc's RTP receive path and stall the
            # publisher's whole transport; one bad frame must not cost the session.
            logger.exception("relay failed to forward a %s frame", codec.name)

    def get(self) -> None:
        # aiortc's decoder thread treats None as "stop": it exits before creating a
        # decoder, which is exactly what a passthrough wants.
        return None


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_packet: PacketHandler,
    on_end: Callable[[], None] | None = None,
) -> FrameTap:
    """Divert a receiver's reassembled frames to `on_packet`; call before it starts."""
    tap = FrameTap(on_packet, on_end)
    receiver._RTCRtpReceiver__decoder_queue = tap  # type: ignore[attr-defined]
    return tap


def forward_audio_promptly(receiver: RTCRtpReceiver) -> None:
    """Stop an audio receiver from holding packets back for smooth local playback."""
    current = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(  # type: ignore[attr-defined]
        capacity=current.capacity, prefetch=0
    )


def frame_tap(receiver: RTCRtpReceiver) -> FrameTap | None:
    """The tap installed on a receiver, if any."""
    queue = getattr(receiver, "_RTCRtpReceiver__decoder_queue", None)
    return queue if isinstance(queue, FrameTap) else None


class PacketOnlyEncoder(Encoder):
    """An aiortc `Encoder` that can only packetise frames that are already encoded."""

    def __init__(self, packetizer: Packetizer) -> None:
        self.packetizer = packetizer
        self.packed = 0

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("the relay forwards encoded frames; it never encodes")

    def pack(self, packet: EncodedPacket) -> tuple[list[bytes], int]:
        self.packed += 1
        return self.packetizer.pack(packet)


def install_packetizer(sender: RTCRtpSender, packetizer: Packetizer) -> PacketOnlyEncoder:
    """Give a sender an encoder that only packs, before it starts sending."""
    encoder = PacketOnlyEncoder(packetizer)
    sender._RTCRtpSender__encoder = encoder  # type: ignore[attr-defined]
    return encoder


def sender_encoder(sender: RTCRtpSender) -> Any:
    """The encoder a sender uses (None until it first sends, unless one was installed)."""
    return getattr(sender, "_RTCRtpSender__encoder", None)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` whenever the remote asks this sender for a keyframe (PLI or FIR)."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC carrying the publisher's media, most recently active first; None if none yet."""
    rtx: dict[int, int] = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
    sources = [s for s in receiver.getSynchronizationSources() if s.source not in rtx]
    if not sources:
        return None
    return max(sources, key=lambda s: s.timestamp).source


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the remote sender for a keyframe; False if no media has arrived to name yet."""
    ssrc = media_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True
