"""H.264 parameter sets (SPS, PPS) remembered per session and put in front of keyframes.

OBS and some hardware encoders send SPS and PPS once, at the start of the stream, or
only with some keyframes. A viewer who joins later gets IDR frames it cannot decode
without them and waits for a keyframe that happens to carry them (15 s once). The room
keeps the latest of each and prepends them to any IDR access unit that lacks them;
decoders take repeated parameter sets as a no-op, so viewers who had them lose nothing.
"""

from __future__ import annotations

import av

from stream.packets import EncodedPacket

_START = b"\x00\x00\x00\x01"
SPS, PPS, IDR = 7, 8, 5


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B access unit, start codes stripped."""
    units: list[bytes] = []
    position = data.find(b"\x00\x00\x01")
    while position >= 0:
        start = position + 3
        following = data.find(b"\x00\x00\x01", start)
        end = len(data) if following < 0 else following
        unit = data[start:end]
        # A four-byte start code leaves its leading zero on the previous unit.
        if following >= 0 and unit.endswith(b"\x00"):
            unit = unit.rstrip(b"\x00")
        if unit:
            units.append(unit)
        position = following
    return units


class ParameterSets:
    """The session's latest SPS and PPS; `complete()` makes keyframes self-sufficient."""

    def __init__(self) -> None:
        self.sps: bytes | None = None
        self.pps: bytes | None = None
        self.completed = 0

    def complete(self, packet: EncodedPacket) -> EncodedPacket:
        """Remember the packet's SPS/PPS; return it, or a copy with the missing sets in front."""
        data = bytes(packet)
        units = nal_units(data)
        types = {unit[0] & 0x1F for unit in units}
        for unit in units:
            kind = unit[0] & 0x1F
            if kind == SPS:
                self.sps = unit
            elif kind == PPS:
                self.pps = unit
        if IDR not in types or (SPS in types and PPS in types):
            return packet
        missing = [
            unit
            for kind, unit in ((SPS, self.sps), (PPS, self.pps))
            if kind not in types and unit is not None
        ]
        if not missing:
            return packet
        self.completed += 1
        prefixed = av.Packet(b"".join(_START + unit for unit in missing) + data)
        prefixed.pts = packet.pts
        prefixed.dts = packet.dts
        prefixed.time_base = packet.time_base
        prefixed.is_keyframe = True
        return prefixed
