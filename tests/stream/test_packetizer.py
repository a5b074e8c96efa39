"""One packetisation per frame per session, shared by every viewer."""

from __future__ import annotations

import pytest
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.packetizer import RECENT_FRAMES, Packetizer
from stream.packets import encoded_packet

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


def test_the_same_frame_is_split_once() -> None:
    """Every viewer asking for the same frame gets the very same payloads."""
    packetizer = Packetizer(VP8)
    packet = encoded_packet(VP8, b"\x10\x02\x00\x9d\x01\x2a" + b"\x00" * 3000, 9000)
    first = packetizer.pack(packet)
    assert packetizer.pack(packet) is first
    assert packetizer.frames == 1
    payloads, timestamp = first
    assert timestamp == 9000
    assert len(payloads) == 3
    descriptor, _ = VpxPayloadDescriptor.parse(payloads[0])
    assert descriptor.partition_start == 1


def test_picture_ids_count_frames_of_the_session() -> None:
    """Consecutive frames get consecutive VP8 picture IDs whoever asks first."""
    packetizer = Packetizer(VP8)
    ids = []
    for pts in range(3):
        payloads, _ = packetizer.pack(encoded_packet(VP8, b"\x11" * 10, pts))
        ids.append(VpxPayloadDescriptor.parse(payloads[0])[0].picture_id)
    assert ids[1] == (ids[0] + 1) % (1 << 15)
    assert ids[2] == (ids[1] + 1) % (1 << 15)


def test_old_frames_are_forgotten() -> None:
    """Only the most recent frames are kept, so memory stays bounded."""
    packetizer = Packetizer(OPUS)
    packets = [encoded_packet(OPUS, b"\xfc", pts) for pts in range(RECENT_FRAMES + 10)]
    for packet in packets:
        assert packetizer.pack(packet) == ([b"\xfc"], packet.pts)
    assert len(packetizer._recent) == RECENT_FRAMES
    packetizer.pack(packets[0])
    assert packetizer.frames == RECENT_FRAMES + 11


def test_unsupported_codecs_are_refused() -> None:
    """Only VP8, H.264 and Opus can be forwarded."""
    with pytest.raises(ValueError):
        Packetizer(RTCRtpCodecParameters(mimeType="audio/PCMU", clockRate=8000, payloadType=0))
