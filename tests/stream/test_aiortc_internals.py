"""Pins every aiortc internal the relay touches: an aiortc upgrade that moves one fails here first."""

from __future__ import annotations

import asyncio
import fractions
import inspect
import queue

import aiortc
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import get_capabilities
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket

from stream.packetizer import Packetizer
from stream.packets import encoded_packet
from stream.passthrough import (
    FrameTap,
    PacketOnlyEncoder,
    forward_audio_promptly,
    frame_tap,
    install_packetizer,
    media_ssrc,
    on_keyframe_request,
    send_pli,
    sender_encoder,
    tap_receiver,
)
from stream.track import PacketTrack
from tests.stream.peers import loopback, start_publisher, wait_for

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
H264 = RTCRtpCodecParameters(
    mimeType="video/H264",
    clockRate=90000,
    payloadType=99,
    parameters={"packetization-mode": "1", "profile-level-id": "42e01f"},
)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


def test_aiortc_is_the_pinned_version() -> None:
    """The hooks were written against aiortc 1.16.0; any other version must be re-checked here."""
    assert aiortc.__version__ == "1.16.0"


async def test_receiver_keeps_its_decoder_queue_and_rtx_map() -> None:
    """RTCRtpReceiver still has the private decoder queue and RTX map the relay replaces and reads."""
    pc = RTCPeerConnection(loopback())
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    assert isinstance(receiver._RTCRtpReceiver__decoder_queue, queue.Queue)  # type: ignore[attr-defined]
    assert receiver._RTCRtpReceiver__rtx_ssrc == {}  # type: ignore[attr-defined]
    assert receiver._RTCRtpReceiver__decoder_thread is None  # type: ignore[attr-defined]
    await pc.close()


def test_decoder_worker_reads_frames_from_the_queue_it_is_given() -> None:
    """The decoder thread takes (loop, input queue, output queue, error flag) and stops on None."""
    parameters = list(inspect.signature(aiortc.rtcrtpreceiver.decoder_worker).parameters)
    assert parameters == ["loop", "input_q", "output_q", "decode_error"]
    source = inspect.getsource(aiortc.rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
    # The reassembled frame goes to the decoder queue as (codec, JitterFrame).
    assert "self.__decoder_queue.put((codec, encoded_frame))" in source
    receive = inspect.getsource(aiortc.rtcrtpreceiver.RTCRtpReceiver.receive)
    assert "self.__decoder_queue," in receive


def test_jitter_frame_carries_data_and_timestamp() -> None:
    """JitterFrame, what the tap receives, still has `data` and `timestamp`."""
    frame = JitterFrame(data=b"abc", timestamp=3000)
    assert (frame.data, frame.timestamp) == (b"abc", 3000)


async def test_tapped_receiver_forwards_frames_and_never_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tapped receiver on a real connection hands over encoded frames, and no decoder is ever built."""
    decoders: list[object] = []
    original = aiortc.rtcrtpreceiver.get_decoder

    def spy(codec: RTCRtpCodecParameters) -> object:
        decoders.append(codec)
        return original(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spy)

    from stream.relay import Relay

    relay = Relay()
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1")
        room = relay.room("s1")
        assert room is not None and room.publisher is not None
        taps = room.publisher.taps
        await wait_for(lambda: taps["video"].frames >= 10 and taps["audio"].frames >= 10)
        for kind, receiver in room.publisher.receivers.items():
            assert frame_tap(receiver) is taps[kind]
            thread = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
            # receive() started the thread with the tap as its queue; it found None and left.
            assert thread is not None
            await wait_for(lambda t=thread: not t.is_alive(), message="the decoder thread to exit")
        assert decoders == []
        await publisher.close()
    finally:
        await relay.stop()


def test_tap_turns_frames_into_keyframe_flagged_packets() -> None:
    """FrameTap wraps (codec, JitterFrame) as an av.Packet with pts, time base and keyframe flag."""
    received: list[tuple[RTCRtpCodecParameters, av.Packet]] = []
    ended: list[bool] = []
    tap = FrameTap(
        lambda codec, packet: received.append((codec, packet)), lambda: ended.append(True)
    )
    keyframe = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\x68\x01" + b"\x00" * 20
    tap.put((VP8, JitterFrame(data=keyframe, timestamp=9000)))
    tap.put((VP8, JitterFrame(data=b"", timestamp=12000)))
    assert tap.get() is None
    tap.put(None)
    tap.put(None)

    ((codec, packet),) = received
    assert codec is VP8
    assert bytes(packet) == keyframe
    assert packet.pts == 9000
    assert packet.time_base == fractions.Fraction(1, 90000)
    assert packet.is_keyframe
    assert ended == [True]
    assert (tap.frames, tap.bytes) == (1, len(keyframe))


def test_tap_survives_a_failing_handler() -> None:
    """An exception from the handler is logged, not raised into aiortc's RTP path."""

    def explode(codec: RTCRtpCodecParameters, packet: av.Packet) -> None:
        raise RuntimeError("boom")

    FrameTap(explode).put((OPUS, JitterFrame(data=b"\x01", timestamp=0)))


async def test_tap_receiver_replaces_the_decoder_queue() -> None:
    """tap_receiver installs the tap where receive() will pick it up."""
    pc = RTCPeerConnection(loopback())
    receiver = pc.addTransceiver("audio", direction="recvonly").receiver
    tap = tap_receiver(receiver, lambda codec, packet: None)
    assert receiver._RTCRtpReceiver__decoder_queue is tap  # type: ignore[attr-defined]
    assert frame_tap(receiver) is tap
    await pc.close()


async def test_sender_lazily_creates_its_encoder_slot() -> None:
    """RTCRtpSender keeps its encoder in a private slot, empty until the first frame."""
    pc = RTCPeerConnection(loopback())
    sender = pc.addTransceiver("video", direction="sendonly").sender
    assert sender_encoder(sender) is None
    assert "_RTCRtpSender__encoder" in vars(sender)
    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "if self.__encoder is None:" in source
    assert "self.__encoder.pack(data)" in source
    await pc.close()


@pytest.mark.parametrize("codec", [VP8, H264, OPUS], ids=["vp8", "h264", "opus"])
async def test_installed_packetizer_packs_without_get_encoder(
    codec: RTCRtpCodecParameters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the packet-only encoder installed, the sender packs an av.Packet and never calls get_encoder."""
    calls: list[object] = []
    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", lambda c: calls.append(c))
    kind = codec.mimeType.split("/")[0]
    track = PacketTrack(kind)
    pc = RTCPeerConnection(loopback())
    sender = pc.addTransceiver(track, direction="sendonly").sender
    encoder = install_packetizer(sender, Packetizer(codec))
    assert sender_encoder(sender) is encoder

    if codec is H264:
        data = b"\x00\x00\x00\x01\x67\x42\xe0\x1f" + b"\x00\x00\x00\x01\x65" + b"\x88" * 3000
    elif codec is VP8:
        data = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\x68\x01" + b"\x11" * 3000
    else:
        data = b"\xfc" + b"\x22" * 100
    packet = encoded_packet(codec, data, 3000)
    next_frame = asyncio.ensure_future(sender._next_encoded_frame(codec))
    await asyncio.sleep(0)  # the track starts on its first recv()
    track.push(packet)
    frame = await asyncio.wait_for(next_frame, 2)

    assert frame is not None
    assert frame.timestamp == 3000
    assert b"".join(frame.payloads).endswith(data[-50:])
    assert calls == []
    assert encoder.packed == 1
    track.stop()
    await pc.close()


def test_packet_only_encoder_refuses_to_encode() -> None:
    """A decoded frame reaching a relay sender fails loudly instead of being re-encoded."""
    encoder = PacketOnlyEncoder(Packetizer(VP8))
    with pytest.raises(RuntimeError):
        encoder.encode(av.VideoFrame(16, 16, "yuv420p"))


def test_aiortc_packetisers_open_no_codec_until_encode() -> None:
    """aiortc's VP8 and H.264 encoders are cheap packetisers until encode() runs."""
    assert Vp8Encoder().codec is None
    assert H264Encoder().codec is None
    for cls in (Vp8Encoder, H264Encoder):
        assert list(inspect.signature(cls.pack).parameters) == ["self", "packet"]


async def test_keyframe_request_hook_sees_pli_and_fir() -> None:
    """A PLI or FIR arriving at a sender calls its _send_keyframe, which the relay replaces."""
    pc = RTCPeerConnection(loopback())
    sender = pc.addTransceiver("video", direction="sendonly").sender
    requests: list[str] = []
    on_keyframe_request(sender, lambda: requests.append("keyframe"))
    for fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
        await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=sender._ssrc))
    assert requests == ["keyframe", "keyframe"]
    await pc.close()


async def test_receiver_sends_pli_to_the_media_ssrc() -> None:
    """RTCRtpReceiver._send_rtcp_pli(media_ssrc) exists, and media_ssrc() names the publisher's media SSRC."""
    signature = inspect.signature(RTCRtpReceiver._send_rtcp_pli)
    assert list(signature.parameters) == ["self", "media_ssrc"]
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)

    from stream.relay import Relay

    relay = Relay()
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1")
        room = relay.room("s1")
        assert room is not None and room.publisher is not None
        receiver = room.publisher.receivers["video"]
        await wait_for(lambda: media_ssrc(receiver) is not None)
        video_sender = next(t.sender for t in publisher.pc.getTransceivers() if t.kind == "video")
        assert media_ssrc(receiver) == video_sender._ssrc

        requests: list[int] = []
        video_sender._send_keyframe = lambda: requests.append(1)  # type: ignore[method-assign]
        assert await send_pli(receiver) is True
        await wait_for(lambda: requests == [1], message="the PLI to reach the publisher")
        await publisher.close()
    finally:
        await relay.stop()


def test_capabilities_still_offer_vp8_and_packetization_mode_1_h264() -> None:
    """aiortc still offers exactly the video codecs the relay prefers."""
    video = {
        (c.mimeType, c.parameters.get("profile-level-id")) for c in get_capabilities("video").codecs
    }
    assert ("video/VP8", None) in video
    assert ("video/H264", "42e01f") in video
    assert ("video/H264", "42001f") in video


async def test_audio_receiver_jitter_buffer_can_stop_prefetching() -> None:
    """aiortc's audio receiver prefetches four packets in a private JitterBuffer the relay replaces."""
    pc = RTCPeerConnection(loopback())
    receiver = pc.addTransceiver("audio", direction="recvonly").receiver
    buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert isinstance(buffer, JitterBuffer)
    assert (buffer.capacity, buffer._prefetch) == (16, 4)
    assert "self.__jitter_buffer.add(packet)" in inspect.getsource(
        RTCRtpReceiver._handle_rtp_packet
    )
    forward_audio_promptly(receiver)
    replaced = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    assert (replaced.capacity, replaced._prefetch) == (16, 0)
    await pc.close()


def test_jitter_buffer_without_prefetch_releases_each_frame_on_the_next() -> None:
    """With prefetch 0 a frame comes out as soon as the next frame's first packet arrives."""
    buffer = JitterBuffer(capacity=16, prefetch=0)
    released = []
    for seq in range(3):
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=960 * seq)
        packet._data = bytes([seq])  # type: ignore[attr-defined]
        released.append(buffer.add(packet)[1])
    assert released[0] is None
    assert [f.data for f in released[1:] if f is not None] == [b"\x00", b"\x01"]
