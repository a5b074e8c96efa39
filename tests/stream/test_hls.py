"""HLS from a live H.264 publisher: fMP4 segments muxed from its packets, read by ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stream.relay import Relay
from tests.services import services_required
from tests.stream.peers import start_publisher, wait_for


def need_ffprobe() -> str:
    path = shutil.which("ffprobe")
    if path is None:
        if services_required():
            pytest.fail("ffprobe is missing (apt-get install ffmpeg)", pytrace=False)
        pytest.skip("ffprobe is missing (apt-get install ffmpeg)")
    return path


def segments(playlist: Path) -> list[str]:
    if not playlist.exists():
        return []
    return [line for line in playlist.read_text().splitlines() if line.endswith(".m4s")]


def probe(ffprobe: str, playlist: Path) -> list[dict[str, object]]:
    result = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
            str(playlist),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)["streams"]


async def test_live_h264_publisher_becomes_an_hls_playlist_ffprobe_reads(tmp_path: Path) -> None:
    """A live H.264 + Opus publisher yields an fMP4 HLS playlist ffprobe reads as H.264 and AAC."""
    ffprobe = need_ffprobe()
    relay = Relay([], hls_dir=tmp_path)
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1", video_codec="video/H264")
        playlist = tmp_path / "s1" / "index.m3u8"
        await wait_for(lambda: len(segments(playlist)) >= 2, within=30, message="2 segments")
        text = playlist.read_text()
        assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text
        streams = probe(ffprobe, playlist)
        video = [s for s in streams if s["codec_name"] == "h264"]
        assert video and (video[0]["width"], video[0]["height"]) == (640, 360)
        assert any(s["codec_name"] == "aac" for s in streams)
        assert relay.stats()["s1"]["hls"] is True
        await publisher.close()
        await relay.close_session("s1")
        assert "#EXT-X-ENDLIST" in playlist.read_text()
    finally:
        await relay.stop()


async def test_vp8_publisher_has_no_hls(tmp_path: Path) -> None:
    """HLS carries H.264 only: a VP8 publisher's session writes no playlist."""
    relay = Relay([], hls_dir=tmp_path)
    await relay.start()
    try:
        publisher = await start_publisher(relay, "s1", video_codec="video/VP8")
        await wait_for(lambda: relay.stats()["s1"]["frames_in"]["video"] >= 30, within=15)
        assert not (tmp_path / "s1" / "index.m3u8").exists()
        assert relay.stats()["s1"]["hls"] is False
        await publisher.close()
    finally:
        await relay.stop()


def test_segments_stay_at_their_length_when_keyframes_come_on_request(tmp_path: Path) -> None:
    """A publisher that sends keyframes only when asked, a little late and with its
    keyframes arriving early on the wall clock: every segment is 2 s, one request each."""
    import fractions

    import av

    from stream.bitstream import is_h264_keyframe
    from stream.hls import HlsRecorder

    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 160, 96, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.options = {
        "profile": "baseline",
        "tune": "zerolatency",
        "g": "100000",
        "bf": "0",
        "sc_threshold": "0",
    }
    asked: list[int] = []
    wall = [100.0]
    recorder = HlsRecorder(
        tmp_path, has_audio=False, request_keyframe=lambda: asked.append(i), clock=lambda: wall[0]
    )
    for i in range(30 * 12):
        frame = av.VideoFrame(160, 96, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(i * 7) % 256]) * plane.buffer_size)
        frame.pts = i
        # Asked three frames ago: this one is a keyframe (the encoder and the path's delay).
        frame.pict_type = (
            av.video.frame.PictureType.I
            if i == 0 or (asked and i - asked[-1] == 3)
            else av.video.frame.PictureType.NONE
        )
        for out in codec.encode(frame):
            data = bytes(out)
            packet = av.Packet(data)
            packet.pts = packet.dts = i * 3000
            packet.time_base = fractions.Fraction(1, 90000)
            packet.is_keyframe = is_h264_keyframe(data)
            # Keyframes are big: the frames before them arrive late, they arrive on time.
            wall[0] = 100.0 + i / 30 + (0.0 if packet.is_keyframe else 0.15)
            recorder.push("video", packet)
    recorder.close()
    lines = (tmp_path / "index.m3u8").read_text().splitlines()
    durations = [float(x.split(":", 1)[1].rstrip(",")) for x in lines if x.startswith("#EXTINF:")]
    assert len(durations) >= 5, lines
    for d in durations[:-1]:
        assert 2.0 <= d <= 2.2, durations
    assert "#EXT-X-TARGETDURATION:2" in lines, lines
    assert 4 <= len(asked) <= len(durations) + 1, asked
