"""Real aiortc peers for relay tests: a synthetic publisher and decoding viewers."""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from stream.bitstream import is_keyframe
from stream.hangup import hang_up

AUDIO_TIME_BASE = fractions.Fraction(1, 48000)
WIDTH = 640
HEIGHT = 360


class PatternVideoTrack(VideoStreamTrack):
    """A 640x360 30 fps picture of diagonal stripes sliding sideways, so every frame differs."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width = width
        self.height = height
        period = 2 * width
        self._row = bytes((x * 3) % 256 for x in range(period + width))
        self._chroma = bytes([128]) * ((width // 2) * (height // 2))
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        shift = (self.frames * 8) % (2 * self.width)
        luma = b"".join(
            self._row[(y + shift) % (2 * self.width) :][: self.width] for y in range(self.height)
        )
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        frame.planes[0].update(luma)
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts = pts
        frame.time_base = time_base
        self.frames += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms, 48 kHz mono frames, paced in real time."""

    kind = "audio"
    sample_rate = 48000
    samples = 960

    def __init__(self) -> None:
        super().__init__()
        self._chunk = b"".join(
            int(8000 * math.sin(2 * math.pi * 440 * i / self.sample_rate)).to_bytes(
                2, "little", signed=True
            )
            for i in range(self.samples)
        )
        self._start: float | None = None
        self._timestamp = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += self.samples
            await asyncio.sleep(self._start + self._timestamp / self.sample_rate - time.time())
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(self._chunk)
        frame.pts = self._timestamp
        frame.sample_rate = self.sample_rate
        frame.time_base = AUDIO_TIME_BASE
        return frame


def loopback() -> RTCConfiguration:
    """No ICE servers: aiortc's default would send STUN requests to a public server."""
    return RTCConfiguration(iceServers=[])


def codec_capabilities(kind: str, mime: str | tuple[str, ...]) -> list[Any]:
    """aiortc's capabilities for one codec, or several in this order (plus RTX for video)."""
    codecs = RTCRtpSender.getCapabilities(kind).codecs
    mimes = (mime,) if isinstance(mime, str) else mime
    chosen = [c for m in mimes for c in codecs if c.mimeType.lower() == m.lower()]
    if kind == "video":
        chosen += [c for c in codecs if c.mimeType.lower() == "video/rtx"]
    return chosen


async def wait_for(
    condition: Callable[[], bool], within: float = 5.0, message: str = "condition"
) -> None:
    """Poll `condition` on the event loop until it holds, or fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {message}")
        await asyncio.sleep(0.02)


@dataclass
class SyntheticPublisher:
    """An aiortc peer that publishes a synthetic camera and microphone through the relay."""

    pc: RTCPeerConnection
    video: PatternVideoTrack | None
    audio: ToneAudioTrack | None
    resource_id: str = ""

    @classmethod
    async def offer(
        cls,
        *,
        video: bool = True,
        audio: bool = True,
        video_codec: str | tuple[str, ...] | None = None,
    ) -> SyntheticPublisher:
        pc = RTCPeerConnection(loopback())
        publisher = cls(
            pc, PatternVideoTrack() if video else None, ToneAudioTrack() if audio else None
        )
        if publisher.audio is not None:
            pc.addTransceiver(publisher.audio, direction="sendonly")
        if publisher.video is not None:
            transceiver = pc.addTransceiver(publisher.video, direction="sendonly")
            if video_codec is not None:
                transceiver.setCodecPreferences(codec_capabilities("video", video_codec))
        await pc.setLocalDescription(await pc.createOffer())
        return publisher

    @property
    def sdp(self) -> str:
        return str(self.pc.localDescription.sdp)

    async def answer(self, resource_id: str, answer_sdp: str) -> None:
        self.resource_id = resource_id
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def publish(self, client: Any, path: str, stream_key: str) -> str:
        """POST the offer over WHIP with the stream key (`client`: an httpx.AsyncClient on
        the server), take the answer; the resource's Location."""
        published = await client.post(
            path,
            content=self.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {stream_key}"},
        )
        assert published.status_code == 201, published.text
        location = str(published.headers["location"])
        await self.answer(location.rsplit("/", 1)[-1], published.text)
        return location

    async def close(self) -> None:
        await hang_up(self.pc)


class FirstFrameQueue(queue.Queue[Any]):
    """aiortc's decoder queue, noting whether the first frame handed to the decoder is a keyframe.

    The libvpx decoder does not flag the keyframes it decodes, so the test looks at what
    goes into it instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.first_is_keyframe: bool | None = None
        self.keyframes = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            codec, frame = item
            keyframe = is_keyframe(codec.name, frame.data)
            self.keyframes += keyframe
            if self.first_is_keyframe is None:
                self.first_is_keyframe = keyframe
        super().put(item, block, timeout)


@dataclass
class Received:
    """What one viewer has decoded of one kind."""

    frames: int = 0
    first_at: float | None = None
    first_key_frame: bool | None = None
    last_pts: int | None = None
    pts_went_back: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    arrivals: list[float] = field(default_factory=list)


class DecodingViewer:
    """An aiortc peer that watches through the relay with aiortc's normal, decoding receiver."""

    def __init__(self, *, video: bool = True, audio: bool = True) -> None:
        self.pc = RTCPeerConnection(loopback())
        self.received: dict[str, Received] = {}
        self.resource_id = ""
        self.created_at = time.monotonic()
        self._consumers: set[asyncio.Task[None]] = set()
        self.decoder_queues: dict[str, FirstFrameQueue] = {}
        for kind, wanted in (("audio", audio), ("video", video)):
            if wanted:
                transceiver = self.pc.addTransceiver(kind, direction="recvonly")
                decoder_queue = self.decoder_queues[kind] = FirstFrameQueue()
                transceiver.receiver._RTCRtpReceiver__decoder_queue = decoder_queue
        self.pc.on("track", self._on_track)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, resource_id: str, answer_sdp: str) -> None:
        self.resource_id = resource_id
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    def frames(self, kind: str) -> int:
        received = self.received.get(kind)
        return received.frames if received else 0

    def negotiated(self, kind: str) -> list[str]:
        """The codecs (mime types) of the answer's m-line of this kind."""
        description = self.pc.remoteDescription
        from aiortc import sdp as aiortc_sdp

        parsed = aiortc_sdp.SessionDescription.parse(description.sdp)
        return [c.mimeType for m in parsed.media if m.kind == kind for c in m.rtp.codecs]

    def _on_track(self, track: MediaStreamTrack) -> None:
        received = self.received.setdefault(track.kind, Received())
        task = asyncio.ensure_future(self._consume(track, received))
        self._consumers.add(task)
        task.add_done_callback(self._consumers.discard)

    async def _consume(self, track: MediaStreamTrack, received: Received) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if received.first_at is None:
                    received.first_at = now
                    received.first_key_frame = bool(getattr(frame, "key_frame", True))
                received.frames += 1
                received.arrivals.append(now)
                if isinstance(frame, av.VideoFrame):
                    received.sizes.add((frame.width, frame.height))
                if frame.pts is not None:
                    if received.last_pts is not None and frame.pts < received.last_pts:
                        received.pts_went_back += 1
                    received.last_pts = frame.pts
        except MediaStreamError:
            pass

    async def close(self) -> None:
        await hang_up(self.pc)
        for task in list(self._consumers):
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)


class DecodeErrors(logging.Handler):
    """Counts aiortc's "failed to decode" warnings, the only trace a bad frame leaves."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "failed to decode" in message:
            self.count += 1
            self.messages.append(message)


async def start_publisher(
    relay: Any, session_id: str, *, takeover: bool = False, **options: Any
) -> SyntheticPublisher:
    """Publish a synthetic camera (and microphone) to `relay` as session `session_id`."""
    publisher = await SyntheticPublisher.offer(**options)
    resource_id, answer = await relay.publish(session_id, publisher.sdp, takeover=takeover)
    await publisher.answer(resource_id, answer)
    return publisher


async def start_viewer(relay: Any, session_id: str, **options: Any) -> DecodingViewer:
    """Watch session `session_id` on `relay` with a decoding aiortc viewer."""
    viewer = DecodingViewer(**options)
    resource_id, answer = await relay.view(session_id, await viewer.offer())
    await viewer.answer(resource_id, answer)
    return viewer
