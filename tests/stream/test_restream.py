"""Restream: a live H.264 publisher forwarded as FLV to a real nginx-rtmp on loopback."""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import pytest
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.flv import Frame
from stream.relay import Relay
from stream.restream import Restream, Target
from tests.rtmp_server import RtmpServer, closed_port, ffprobe_path, rtmp_available, rtmp_server
from tests.services import services_required
from tests.stream.peers import start_publisher, start_viewer, wait_for

KEY = "live_8f3a9c1d2e7b4a60"


def need(problem: str | None) -> None:
    if problem is None:
        return
    if services_required():
        pytest.fail(problem, pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[RtmpServer]:
    need(rtmp_available())
    need(None if ffprobe_path() else "ffprobe is missing (apt-get install ffmpeg)")
    with rtmp_server(tmp_path / "nginx") as server:
        yield server


def probe(url: str, within: float = 20) -> list[dict[str, object]]:
    """ffprobe of a live RTMP stream: its streams' codec names and sizes."""
    command = ["ffprobe", "-v", "error", "-rw_timeout", "10000000"]
    command += ["-show_entries", "stream=codec_name,width,height", "-of", "json", url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=within, check=False)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["streams"])


def target(url: str) -> Target:
    return Target(url, url.rsplit("/", 1)[0] + "/•••")


async def test_h264_publisher_reaches_nginx_while_a_refused_destination_errors(
    nginx: RtmpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """ffprobe reads H.264 and AAC from nginx within 20 s; a refused one errors; leaving idles both."""
    caplog.set_level(logging.DEBUG)
    good = nginx.url(KEY)
    refused = f"rtmp://127.0.0.1:{closed_port()}/app/{KEY}refused"
    relay = Relay([])
    await relay.start()
    try:
        relay.set_restream("s1", [target(good), target(refused)])
        started = time.monotonic()
        publisher = await start_publisher(relay, "s1", video_codec="video/H264")
        viewer = await start_viewer(relay, "s1")
        await wait_for(lambda: relay.restream_states("s1")[good][0] == "live", within=15)
        streams = await asyncio.to_thread(probe, good)
        assert time.monotonic() - started < 20
        video = [s for s in streams if s["codec_name"] == "h264"]
        assert video and (video[0]["width"], video[0]["height"]) == (640, 360)
        assert any(s["codec_name"] == "aac" for s in streams)
        await wait_for(lambda: relay.restream_states("s1")[refused][0] == "error", within=10)
        assert relay.restream_states("s1")[refused] == ("error", "connection refused")
        assert relay.restream_states("s1")[good] == ("live", None)
        # The good destination kept streaming past the other's failure, and so did viewers.
        sent = relay.stats()["s1"]["restream"]
        before = next(d["frames_sent"] for d in sent if d["state"] == "live")
        await wait_for(
            lambda: (
                next(
                    d["frames_sent"]
                    for d in relay.stats()["s1"]["restream"]
                    if d["state"] == "live"
                )
                > before + 30
            ),
            within=10,
        )
        assert viewer.frames("video") > 30
        await relay.delete("s1", publisher.resource_id)
        assert relay.restream_states("s1") in ({}, {good: ("idle", None), refused: ("idle", None)})
        await viewer.close()
        await publisher.close()
    finally:
        await relay.stop()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "restream to" in logged and KEY not in logged


async def test_a_vp8_publisher_is_told_restreaming_needs_h264(nginx: RtmpServer) -> None:
    """Only H.264 is forwarded without re-encoding: a VP8 publisher leaves its destination in error."""
    good = nginx.url(KEY)
    relay = Relay([])
    await relay.start()
    try:
        relay.set_restream("s1", [target(good)])
        publisher = await start_publisher(relay, "s1", video_codec="video/VP8")
        await wait_for(lambda: relay.restream_states("s1").get(good, ("",))[0] == "error")
        _, error = relay.restream_states("s1")[good]
        assert error is not None and "H.264" in error and "VP8" in error
        await publisher.close()
    finally:
        await relay.stop()


def h264_frames(count: int = 30) -> list[Frame]:
    """`count` frames of all-intra x264 video of noise (large frames), Annex B, as the room sends them."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "1"}
    packets = []
    for i in range(count):
        picture = av.VideoFrame(320, 240, "yuv420p")
        for plane in picture.planes:
            plane.update(os.urandom(plane.buffer_size))
        picture.pts = i
        packets.extend(encoder.encode(picture))
    packets.extend(encoder.encode(None))
    return [Frame("video", bytes(p), 0, p.is_keyframe, 0.0) for p in packets]


@contextmanager
def choking_proxy(upstream: int, limit: int = 64 * 1024) -> Iterator[int]:
    """tests/stream/choking_proxy.py in front of `upstream`, stopped by its pid; yields its port."""
    command = [sys.executable, "-m", "tests.stream.choking_proxy", str(upstream), str(limit)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


async def test_a_stalled_destination_is_dropped_and_retried_while_another_streams(
    nginx: RtmpServer,
) -> None:
    """A destination that stops reading fills its queue and is dropped and retried; the other streams on."""
    proxy = choking_proxy(nginx.port)
    port = proxy.__enter__()
    good = nginx.url(KEY)
    slow = f"rtmp://127.0.0.1:{port}/app/{KEY}slow"
    restream = Restream(
        lambda: None, targets=[target(good), target(slow)], queue_frames=16, backoff=(0.2,)
    )
    codecs = {"video": RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000)}
    frames = h264_frames()
    pushes: list[float] = []

    def stats(name: str) -> dict[str, object]:
        return next(d for d in restream.stats() if d["name"] == name)

    try:
        deadline = time.monotonic() + 20
        sent = 0
        while time.monotonic() < deadline:
            packet = av.Packet(frames[sent % len(frames)].data)
            packet.pts, packet.is_keyframe = sent * 3000, True
            began = time.monotonic()
            restream.push(1, codecs, "video", packet)
            pushes.append(time.monotonic() - began)
            sent += 1
            slow_stats = stats(target(slow).name)
            if slow_stats["dropped"] and int(slow_stats["attempts"]) >= 2:
                break
            await asyncio.sleep(1 / 30)
        slow_stats = stats(target(slow).name)
        assert slow_stats["dropped"] >= 1, restream.stats()
        assert int(slow_stats["attempts"]) >= 2, "the dropped destination tries again"
        good_stats = stats(target(good).name)
        assert restream.states()[good] == ("live", None)
        assert good_stats["dropped"] == 0 and int(good_stats["frames_sent"]) > 30
        assert max(pushes) < 0.05  # pushing never waited for either destination
    finally:
        closing = restream.close()
        for destination in closing:
            await asyncio.to_thread(destination.join, 5)
        proxy.__exit__(None, None, None)
    assert all(not d.alive for d in closing)
