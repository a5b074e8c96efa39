"""SPS/PPS remembered and put in front of IDR frames that lack them, so late viewers decode."""

from __future__ import annotations

import fractions

import av

from stream.parameter_sets import IDR, PPS, SPS, ParameterSets, nal_units


def h264_stream(frames: int = 40, gop: int = 20) -> list[bytes]:
    """Annex B access units from libx264 (baseline, keyframe every `gop` frames)."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 160, 96, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {"profile": "baseline", "tune": "zerolatency", "g": str(gop), "bf": "0"}
    units: list[bytes] = []
    for i in range(frames):
        frame = av.VideoFrame(160, 96, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(i * 7) % 256]) * plane.buffer_size)
        frame.pts = i
        units += [bytes(p) for p in codec.encode(frame)]
    units += [bytes(p) for p in codec.encode(None)]
    return units


def strip_parameter_sets(data: bytes) -> bytes:
    return b"".join(
        b"\x00\x00\x00\x01" + unit for unit in nal_units(data) if unit[0] & 0x1F not in (SPS, PPS)
    )


def packet(data: bytes) -> av.Packet:
    result = av.Packet(data)
    result.pts = result.dts = 0
    result.time_base = fractions.Fraction(1, 90000)
    return result


def decoded(access_units: list[bytes]) -> int:
    decoder = av.CodecContext.create("h264", "r")
    count = 0
    for data in access_units:
        try:
            count += len(decoder.decode(av.Packet(data)))
        except av.error.InvalidDataError:
            pass
    return count


def test_nal_units_splits_annex_b() -> None:
    """Three- and four-byte start codes both delimit units, without leftover zeros."""
    data = b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\x00\x00\x00\x01\x65\xcc"
    assert nal_units(data) == [b"\x67\xaa", b"\x68\xbb", b"\x65\xcc"]


def test_late_viewer_of_a_stream_sending_sps_once_decodes_its_first_keyframe() -> None:
    """A viewer joining at the second keyframe of an SPS/PPS-once stream decodes at once."""
    units = h264_stream()
    keyframes = [i for i, u in enumerate(units) if IDR in {n[0] & 0x1F for n in nal_units(u)}]
    assert len(keyframes) >= 2
    # What OBS-like encoders send: parameter sets with the first keyframe only.
    sent = [units[0]] + [strip_parameter_sets(u) for u in units[1:]]
    late = keyframes[1]
    assert decoded(sent[late:]) == 0  # without the cache the late viewer sees nothing

    sets = ParameterSets()
    relayed = [bytes(sets.complete(packet(u))) for u in sent]
    assert sets.completed >= 1
    assert decoded(relayed[late:]) == len(units) - late
    # The first keyframe already had its sets: it passes unchanged.
    assert relayed[0] == sent[0]
