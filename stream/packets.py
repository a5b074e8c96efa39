"""Encoded frames as `av.Packet`s: the unit the relay moves from publisher to viewers."""

from __future__ import annotations

import fractions
from typing import TYPE_CHECKING, Any, TypeAlias

import av
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.bitstream import is_keyframe

if TYPE_CHECKING:
    EncodedPacket: TypeAlias = av.Packet[Any]
else:
    # PyAV's Packet is generic only in its stubs.
    EncodedPacket = av.Packet

_TIME_BASES: dict[int, fractions.Fraction] = {}


def _time_base(clock_rate: int) -> fractions.Fraction:
    # One shared Fraction per clock rate rather than one per frame.
    base = _TIME_BASES.get(clock_rate)
    if base is None:
        base = _TIME_BASES[clock_rate] = fractions.Fraction(1, clock_rate)
    return base


def encoded_packet(codec: RTCRtpCodecParameters, data: bytes, timestamp: int) -> EncodedPacket:
    """Wrap one reassembled frame, timed on its RTP clock, as a packet a sender can pack."""
    packet = av.Packet(data)
    packet.pts = timestamp
    packet.dts = timestamp
    packet.time_base = _time_base(codec.clockRate)
    packet.is_keyframe = is_keyframe(codec.name, data)
    return packet
