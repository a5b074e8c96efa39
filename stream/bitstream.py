"""Recognise keyframes in encoded frames as aiortc's depayloaders reassemble them.

A relay that never decodes still has to know where a viewer may start: a VP8 or H.264
decoder fed anything but a keyframe first shows garbage or nothing at all.
"""

from __future__ import annotations

# VP8 keyframes carry this start code after the 3-byte frame tag (RFC 6386 section 9.1).
_VP8_START_CODE = b"\x9d\x01\x2a"
_H264_START_CODE = b"\x00\x00\x01"
_H264_IDR = 5
_H264_NON_IDR_SLICE = 1
# An IDR slice follows at most a few parameter sets and SEI units; looking further only
# costs time on large keyframes.
_H264_MAX_NALS_SCANNED = 16


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame (payload descriptor already stripped) is a keyframe."""
    # Bit 0 of the frame tag is the inverse keyframe flag; the start code guards against
    # a frame whose first packet was lost and which starts mid-partition.
    return len(data) >= 10 and not data[0] & 1 and data[3:6] == _VP8_START_CODE


def is_h264_keyframe(data: bytes) -> bool:
    """Whether an Annex B access unit contains an IDR slice."""
    position = 0
    for _ in range(_H264_MAX_NALS_SCANNED):
        position = data.find(_H264_START_CODE, position)
        if position < 0 or position + 3 >= len(data):
            return False
        nal_type = data[position + 3] & 0x1F
        if nal_type == _H264_IDR:
            return True
        if nal_type == _H264_NON_IDR_SLICE:
            return False
        position += 3
    return False


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether a viewer can start decoding at this frame; every audio frame qualifies."""
    name = codec_name.lower()
    if name == "vp8":
        return is_vp8_keyframe(data)
    if name == "h264":
        return is_h264_keyframe(data)
    return True
