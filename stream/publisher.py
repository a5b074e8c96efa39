"""A host's WHIP connection: one peer connection whose receivers are tapped, never decoded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.errors import BadOffer
from stream.hangup import hang_up
from stream.packets import EncodedPacket
from stream.passthrough import FrameTap, forward_audio_promptly, send_pli, tap_receiver
from stream.sdp import (
    negotiated_codecs,
    offer_kinds,
    publisher_preferences,
    without_mdns_candidates,
)
from stream.tasks import TaskSet

logger = logging.getLogger(__name__)

PacketSink = Callable[["Publisher", str, EncodedPacket], None]


class Publisher:
    """One publisher connection; its reassembled frames go to `on_packet(self, kind, packet)`."""

    def __init__(
        self,
        resource_id: str,
        epoch: int,
        configuration: RTCConfiguration,
        on_packet: PacketSink,
        tasks: TaskSet,
    ) -> None:
        self.resource_id = resource_id
        # Numbers the publishers of one session, so timestamps restart cleanly per epoch.
        self.epoch = epoch
        self.pc = RTCPeerConnection(configuration)
        self._closing: asyncio.Future[None] | None = None
        self.codecs: dict[str, RTCRtpCodecParameters] = {}
        self.taps: dict[str, FrameTap] = {}
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self._on_packet = on_packet
        self._tasks = tasks

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"

    async def negotiate(self, offer_sdp: str) -> str:
        """Accept the publisher's offer and return the answer; BadOffer if it can't be served."""
        for kind in offer_kinds(offer_sdp):
            # Created before setRemoteDescription so it adopts them: codec preferences
            # and the tap must be in place before aiortc picks codecs and starts receiving.
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(publisher_preferences(kind, offer_sdp))
            self.receivers[kind] = transceiver.receiver
            self.taps[kind] = tap_receiver(transceiver.receiver, self._forwarder(kind))
            if kind == "audio":
                forward_audio_promptly(transceiver.receiver)
        try:
            offer = RTCSessionDescription(sdp=without_mdns_candidates(offer_sdp), type="offer")
            await self.pc.setRemoteDescription(offer)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            # aiortc reports a bad offer with ValueError, OperationError or InternalError
            # depending on where it trips.
            raise BadOffer(f"cannot accept this publisher offer: {exc}") from exc
        self.codecs = negotiated_codecs(self.pc.localDescription.sdp)
        if not self.codecs:
            raise BadOffer("the publisher offers no VP8, H.264 (packetization-mode 1) or Opus")
        return str(self.pc.localDescription.sdp)

    def request_keyframe(self) -> None:
        receiver = self.receivers.get("video")
        if receiver is not None and self.pc.connectionState == "connected":
            self._tasks.spawn(send_pli(receiver), name=f"pli-{self.resource_id}")

    async def close(self) -> None:
        # Closing twice at once (its connection failed while the relay stops) makes
        # aiortc raise InvalidStateError; every caller awaits the one close instead.
        if self._closing is None:
            self._closing = asyncio.ensure_future(hang_up(self.pc))
        await asyncio.shield(self._closing)

    def _forwarder(self, kind: str) -> Callable[[RTCRtpCodecParameters, EncodedPacket], None]:
        def forward(codec: RTCRtpCodecParameters, packet: EncodedPacket) -> None:
            self._on_packet(self, kind, packet)

        return forward
