"""Offer validation and codec pinning."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.errors import BadOffer
from stream.sdp import (
    negotiated_codecs,
    offer_kinds,
    publisher_preferences,
    same_codec,
    viewer_preferences,
    without_mdns_candidates,
)
from tests.stream.peers import codec_capabilities, loopback


async def offer_for(*kinds: str) -> str:
    pc = RTCPeerConnection(loopback())
    for kind in kinds:
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


async def test_offer_kinds_lists_audio_and_video() -> None:
    """A normal offer yields its kinds in m-line order."""
    assert offer_kinds(await offer_for("audio", "video")) == ["audio", "video"]
    assert offer_kinds(await offer_for("audio")) == ["audio"]


async def test_two_m_lines_of_one_kind_are_refused() -> None:
    """A second video m-line would be decoded by plain aiortc, so it is refused."""
    with pytest.raises(BadOffer, match="one video"):
        offer_kinds(await offer_for("video", "video"))


@pytest.mark.parametrize(
    "sdp", ["", "garbage", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n"]
)
def test_unreadable_offers_are_bad_sdp(sdp: str) -> None:
    """Empty, media-less or malformed SDP is a BadOffer with code bad_sdp."""
    with pytest.raises(BadOffer) as caught:
        offer_kinds(sdp)
    assert caught.value.code == "bad_sdp"


def test_publishers_are_asked_for_vp8_first() -> None:
    """VP8 is preferred, then constrained-baseline and baseline H.264, with RTX; audio is Opus only."""
    video = [
        (c.mimeType, c.parameters.get("profile-level-id")) for c in publisher_preferences("video")
    ]
    assert video == [
        ("video/VP8", None),
        ("video/H264", "42e01f"),
        ("video/H264", "42001f"),
        ("video/rtx", None),
    ]
    assert [c.mimeType for c in publisher_preferences("audio")] == ["audio/opus"]


def test_viewers_are_pinned_to_the_publisher_codec() -> None:
    """A viewer is offered only the publisher's codec (both H.264 profiles, the publisher's first)."""
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    h264 = RTCRtpCodecParameters(
        mimeType="video/H264",
        clockRate=90000,
        payloadType=102,
        parameters={"packetization-mode": "1", "profile-level-id": "42001f"},
    )
    assert [c.mimeType for c in viewer_preferences("video", vp8)] == ["video/VP8", "video/rtx"]
    assert [c.parameters.get("profile-level-id") for c in viewer_preferences("video", h264)] == [
        "42001f",
        "42e01f",
        None,
    ]
    assert viewer_preferences("video", None) == publisher_preferences("video")
    assert not same_codec(vp8, h264)


async def test_negotiated_codecs_reads_the_first_codec_of_active_m_lines() -> None:
    """The codec each m-line will carry is its first non-RTX codec."""
    codecs = negotiated_codecs(await offer_for("audio", "video"))
    assert codecs["audio"].mimeType == "audio/opus"
    assert codecs["video"].mimeType == "video/VP8"


async def test_publisher_order_is_followed() -> None:
    """A publisher offering H.264 before VP8 gets H.264 ranked first; VP8 first stays VP8."""
    pc = RTCPeerConnection(loopback())
    transceiver = pc.addTransceiver("video", direction="sendonly")
    transceiver.setCodecPreferences(codec_capabilities("video", ("video/H264", "video/VP8")))
    await pc.setLocalDescription(await pc.createOffer())
    h264_first = str(pc.localDescription.sdp)
    await pc.close()
    assert publisher_preferences("video", h264_first)[0].mimeType == "video/H264"
    vp8_first = await offer_for("video")
    assert publisher_preferences("video", vp8_first)[0].mimeType == "video/VP8"


def test_mdns_candidates_are_dropped() -> None:
    """`.local` host candidates go; real ones stay; an m-line left bare loses end-of-candidates."""
    offer = "\r\n".join(
        [
            "v=0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "a=candidate:1 1 udp 2122260223 3f1c-aa.local 50000 typ host",
            "a=candidate:2 1 udp 1686052607 203.0.113.4 50000 typ srflx raddr 0.0.0.0 rport 0",
            "a=end-of-candidates",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=candidate:1 1 udp 2122260223 9b2e-bb.LOCAL 50002 typ host",
            "a=end-of-candidates",
            "",
        ]
    )
    cleaned = without_mdns_candidates(offer).split("\r\n")
    assert not any(".local" in line.lower() for line in cleaned)
    assert any("203.0.113.4" in line for line in cleaned)
    video = cleaned[cleaned.index("m=video 9 UDP/TLS/RTP/SAVPF 96") :]
    audio = cleaned[: cleaned.index("m=video 9 UDP/TLS/RTP/SAVPF 96")]
    assert "a=end-of-candidates" in audio and "a=end-of-candidates" not in video
