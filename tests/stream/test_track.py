"""A viewer's bounded packet queue: keyframe gating and dropping instead of blocking."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.packets import EncodedPacket, encoded_packet
from stream.track import PacketTrack

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
KEY = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\x68\x01"
DELTA = b"\x11\x02\x00\x00\x00\x00\x00\x00\x00\x00"


def video(data: bytes, pts: int = 0) -> EncodedPacket:
    return encoded_packet(VP8, data, pts)


async def started(track: PacketTrack) -> asyncio.Future[EncodedPacket]:
    receiving = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    return receiving


async def test_nothing_is_queued_before_the_sender_starts() -> None:
    """Packets offered before the viewer's sender first asks are dropped, not buffered."""
    track = PacketTrack("video")
    track.push(video(KEY))
    assert track.queued == 0
    track.stop()


async def test_start_asks_for_a_keyframe_and_video_waits_for_one() -> None:
    """The first recv() asks for a keyframe, and inter frames before it are skipped."""
    asked: list[str] = []
    track = PacketTrack("video", on_start=lambda: asked.append("start"))
    receiving = await started(track)
    assert asked == ["start"]
    track.push(video(DELTA, 1))
    track.push(video(KEY, 2))
    track.push(video(DELTA, 3))
    assert (await receiving).pts == 2
    assert (await track.recv()).pts == 3
    assert track.skipped == 1
    track.stop()


async def test_a_full_video_queue_flushes_and_waits_for_a_keyframe() -> None:
    """A slow viewer loses its backlog and restarts at the next keyframe, asking for one."""
    needed: list[int] = []
    track = PacketTrack("video", max_queue=3, on_keyframe_needed=lambda: needed.append(1))
    receiving = await started(track)
    track.push(video(KEY, 0))
    assert (await receiving).pts == 0
    for pts in range(1, 5):
        track.push(video(DELTA, pts))
    assert track.dropped == 1
    assert track.queued == 0
    assert needed == [1]
    track.push(video(DELTA, 5))
    track.push(video(KEY, 6))
    assert (await track.recv()).pts == 6
    track.stop()


async def test_a_full_audio_queue_keeps_the_freshest() -> None:
    """Audio overflow drops the oldest frame and keeps going."""
    track = PacketTrack("audio", max_queue=2)
    receiving = await started(track)
    for pts in range(4):
        track.push(encoded_packet(OPUS, b"\xfc", pts))
    assert [(await receiving).pts, (await track.recv()).pts] == [2, 3]
    assert track.dropped == 2
    track.stop()


async def test_stop_wakes_a_waiting_sender() -> None:
    """Stopping the track ends a pending recv() with MediaStreamError."""
    track = PacketTrack("audio")
    receiving = await started(track)
    track.stop()
    with pytest.raises(MediaStreamError):
        await receiving
    with pytest.raises(MediaStreamError):
        await track.recv()
