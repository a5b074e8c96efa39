"""SDP helpers: what an offer asks for, which codecs to prefer, which were agreed."""

from __future__ import annotations

from aiortc import RTCRtpSender
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from stream.errors import BadOffer

MEDIA_KINDS = ("audio", "video")
# Browsers send constrained baseline (42e0..) by default and decode either profile;
# aiortc only speaks packetization-mode 1.
_H264_PROFILE_ORDER = ("42e01f", "42001f")


def offer_kinds(offer_sdp: str) -> list[str]:
    """The media kinds an offer carries, in m-line order; BadOffer if the relay can't serve it."""
    try:
        description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    except Exception as exc:  # aiortc's parser raises whatever a malformed line trips
        raise BadOffer(f"unreadable SDP offer: {exc}") from exc
    kinds = [media.kind for media in description.media]
    if not kinds:
        raise BadOffer("the SDP offer has no media")
    for kind in kinds:
        if kind not in MEDIA_KINDS:
            raise BadOffer(f"the relay carries audio and video only, not {kind}")
    for kind in MEDIA_KINDS:
        # One track per kind: a second m-line would get a plain aiortc transceiver that
        # decodes whatever it receives.
        if kinds.count(kind) > 1:
            raise BadOffer(f"the relay takes at most one {kind} m-line")
    return kinds


def _capabilities(kind: str) -> list[RTCRtpCodecCapability]:
    return list(RTCRtpSender.getCapabilities(kind).codecs)


def _rtx(kind: str) -> list[RTCRtpCodecCapability]:
    return [c for c in _capabilities(kind) if c.mimeType.lower() == "video/rtx"]


def _h264(first_profile: str | None = None) -> list[RTCRtpCodecCapability]:
    by_profile = {
        str(c.parameters.get("profile-level-id", "")).lower(): c
        for c in _capabilities("video")
        if c.mimeType.lower() == "video/h264"
    }
    order = list(_H264_PROFILE_ORDER)
    if first_profile is not None and first_profile.lower() in order:
        order.remove(first_profile.lower())
        order.insert(0, first_profile.lower())
    return [by_profile[p] for p in order if p in by_profile]


def publisher_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """Codecs the relay accepts from a publisher, best first: VP8, then baseline H.264; Opus."""
    if kind == "audio":
        return [c for c in _capabilities("audio") if c.mimeType.lower() == "audio/opus"]
    vp8 = [c for c in _capabilities("video") if c.mimeType.lower() == "video/vp8"]
    return vp8 + _h264() + _rtx("video")


def viewer_preferences(
    kind: str, codec: RTCRtpCodecParameters | None
) -> list[RTCRtpCodecCapability]:
    """Codecs a viewer may be offered: only the publisher's, since nothing is transcoded."""
    if codec is None:
        return publisher_preferences(kind)
    name = codec.mimeType.lower()
    if name == "video/h264":
        # Both profiles carry the same bitstream from a baseline encoder; keep the
        # publisher's first so a viewer that offers it gets exactly it.
        pinned = _h264(str(codec.parameters.get("profile-level-id", "")))
    else:
        pinned = [c for c in _capabilities(kind) if c.mimeType.lower() == name]
    return pinned + (_rtx(kind) if kind == "video" else [])


def negotiated_codecs(answer_sdp: str) -> dict[str, RTCRtpCodecParameters]:
    """The codec each active m-line of a local answer will use (its first non-RTX codec)."""
    description = aiortc_sdp.SessionDescription.parse(answer_sdp)
    codecs: dict[str, RTCRtpCodecParameters] = {}
    for media in description.media:
        if media.port == 0 or media.direction == "inactive":
            continue
        for codec in media.rtp.codecs:
            if codec.name.lower() != "rtx":
                codecs.setdefault(media.kind, codec)
                break
    return codecs


def same_codec(a: RTCRtpCodecParameters, b: RTCRtpCodecParameters) -> bool:
    """Whether frames encoded for `a` can be sent as `b` (same codec; H.264 profile aside)."""
    return a.mimeType.lower() == b.mimeType.lower() and a.clockRate == b.clockRate
