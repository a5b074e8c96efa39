"""A viewer's WHEP connection: senders pinned to the publisher's codecs, fed encoded packets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.errors import BadOffer
from stream.hangup import hang_up
from stream.packetizer import Packetizer
from stream.passthrough import PacketOnlyEncoder, install_packetizer, on_keyframe_request
from stream.sdp import (
    negotiated_codecs,
    offer_kinds,
    viewer_preferences,
    without_mdns_candidates,
)
from stream.track import PacketTrack


class Viewer:
    """One viewer connection with a `PacketTrack` per media kind it asked for."""

    def __init__(self, resource_id: str, configuration: RTCConfiguration) -> None:
        self.resource_id = resource_id
        self.pc = RTCPeerConnection(configuration)
        self._closing: asyncio.Future[None] | None = None
        self.tracks: dict[str, PacketTrack] = {}
        self.codecs: dict[str, RTCRtpCodecParameters] = {}
        self.encoders: dict[str, PacketOnlyEncoder] = {}
        self.senders: dict[str, RTCRtpSender] = {}

    async def negotiate(
        self,
        offer_sdp: str,
        publisher_codecs: dict[str, RTCRtpCodecParameters],
        *,
        request_keyframe: Callable[[], None],
        packetizer: Callable[[str, RTCRtpCodecParameters], Packetizer],
    ) -> str:
        """Answer the viewer's offer with the publisher's codecs; BadOffer if it can't take them."""
        for kind in offer_kinds(offer_sdp):
            track = PacketTrack(
                kind,
                on_start=request_keyframe if kind == "video" else None,
                on_keyframe_needed=request_keyframe,
            )
            # Created before setRemoteDescription, which adopts it: aiortc applies codec
            # preferences while it matches the offer, so this is where the pin must be.
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(viewer_preferences(kind, publisher_codecs.get(kind)))
            on_keyframe_request(transceiver.sender, request_keyframe)
            self.tracks[kind] = track
            self.senders[kind] = transceiver.sender
        try:
            offer = RTCSessionDescription(sdp=without_mdns_candidates(offer_sdp), type="offer")
            await self.pc.setRemoteDescription(offer)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            wanted = ", ".join(c.mimeType for c in publisher_codecs.values()) or "VP8 or Opus"
            raise BadOffer(f"this viewer cannot receive {wanted}: {exc}") from exc
        self.codecs = negotiated_codecs(self.pc.localDescription.sdp)
        for kind, codec in self.codecs.items():
            self.encoders[kind] = install_packetizer(self.senders[kind], packetizer(kind, codec))
        return str(self.pc.localDescription.sdp)

    def stop_tracks(self) -> None:
        for track in self.tracks.values():
            track.stop()

    async def close(self) -> None:
        self.stop_tracks()
        # As Publisher.close: one close however many callers.
        if self._closing is None:
            self._closing = asyncio.ensure_future(hang_up(self.pc))
        await asyncio.shield(self._closing)
