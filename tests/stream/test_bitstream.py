"""Keyframe recognition on real VP8 and H.264 encoder output."""

from __future__ import annotations

import fractions

import av
import pytest

from stream.bitstream import is_h264_keyframe, is_keyframe, is_vp8_keyframe


def encode(codec_name: str, frames: int = 3, **options: str) -> list[bytes]:
    codec = av.CodecContext.create(codec_name, "w")
    codec.width, codec.height = 64, 64
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = options
    packets: list[bytes] = []
    for index in range(frames):
        frame = av.VideoFrame(64, 64, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(index * 40) % 256]) * plane.buffer_size)
        frame.pts = index
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


def test_vp8_first_frame_is_key_and_the_next_are_not() -> None:
    """libvpx's first frame is recognised as a keyframe and its inter frames are not."""
    packets = encode("libvpx", deadline="realtime", **{"lag-in-frames": "0"})
    assert [is_vp8_keyframe(p) for p in packets] == [True] + [False] * (len(packets) - 1)
    assert is_keyframe("VP8", packets[0])


def test_h264_idr_is_key_and_p_slices_are_not() -> None:
    """A baseline x264 IDR access unit is recognised as a keyframe and P frames are not."""
    packets = encode("libx264", profile="baseline", tune="zerolatency", preset="ultrafast")
    assert is_h264_keyframe(packets[0])
    assert not any(is_h264_keyframe(p) for p in packets[1:])
    assert is_keyframe("h264", packets[0])


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x01", b"\x10\x02\x00\x9d\x01"])
def test_truncated_frames_are_not_keyframes(data: bytes) -> None:
    """Frames too short to hold a keyframe header are never taken for one."""
    assert not is_vp8_keyframe(data)
    assert not is_h264_keyframe(data)


def test_audio_frames_always_qualify() -> None:
    """Every Opus frame decodes on its own, so viewers may start at any."""
    assert is_keyframe("opus", b"\xfc\x00")
