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


def without_mdns_candidates(offer_sdp: str) -> str:
    """The offer minus `.local` (mDNS) host candidates, which the relay can never reach.

    Browsers hide their host addresses behind mDNS names; those resolve only on the
    browser's own LAN, never at a relay on the internet. aioice still tries, waiting
    about a second per name before it answers. Dropped here, the browser's checks
    reach the relay anyway and aioice learns the address as peer-reflexive (RFC 8445
    section 7.3.1.3). An m-line left without any candidate also loses its
    `end-of-candidates`, so aioice keeps waiting for those checks instead of failing.
    """
    lines = offer_sdp.splitlines()
    kept: list[str] = []
    section: list[str] = []
    sections: list[list[str]] = [kept]
    for line in lines:
        if line.startswith("m="):
            section = [line]
            sections.append(section)
            continue
        target = section if section else kept
        if line.startswith("a=candidate:"):
            fields = line.split()
            if len(fields) > 4 and fields[4].lower().endswith(".local"):
                continue
        target.append(line)
    out: list[str] = []
    for block in sections:
        if (
            block
            and block[0].startswith("m=")
            and not any(line.startswith("a=candidate:") for line in block)
        ):
            block = [line for line in block if line != "a=end-of-candidates"]
        out.extend(block)
    return "\r\n".join(out) + "\r\n"


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


def _offer_order(offer_sdp: str, kind: str) -> list[tuple[str, str]]:
    """(mime type, H.264 profile-level-id) of the offer's codecs for `kind`, in its order."""
    try:
        description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    except Exception:  # offer_kinds() reports unreadable offers
        return []
    return [
        (c.mimeType.lower(), str(c.parameters.get("profile-level-id", "")).lower())
        for media in description.media
        if media.kind == kind
        for c in media.rtp.codecs
    ]


def publisher_preferences(kind: str, offer_sdp: str | None = None) -> list[RTCRtpCodecCapability]:
    """Codecs the relay accepts from a publisher: VP8 and baseline H.264; Opus.

    In the publisher's own order when its offer is given, so a publisher that prefers
    H.264 (the only codec HLS can carry without transcoding) gets H.264; otherwise
    VP8 first.
    """
    if kind == "audio":
        return [c for c in _capabilities("audio") if c.mimeType.lower() == "audio/opus"]
    vp8 = [c for c in _capabilities("video") if c.mimeType.lower() == "video/vp8"]
    ours = vp8 + _h264()
    if offer_sdp is not None:
        order = _offer_order(offer_sdp, kind)

        def rank(c: RTCRtpCodecCapability) -> float:
            mime = c.mimeType.lower()
            profile = str(c.parameters.get("profile-level-id", "")).lower()
            if (mime, profile) in order:
                return order.index((mime, profile))
            same = [i for i, (m, _) in enumerate(order) if m == mime]
            return same[0] + 0.5 if same else len(order) + 1

        ours.sort(key=rank)  # stable: unmentioned codecs keep VP8-then-H.264
    return ours + _rtx("video")


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
