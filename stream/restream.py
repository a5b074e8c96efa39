"""A session's restream: its publisher forwarded to RTMP/RTMPS destinations (Facebook, ...).

The room hands every frame of its current publisher to `push()`, on the event loop;
each destination (`stream.rtmp`) has its own bounded queue and thread, so nothing here
waits. Destinations run while a publisher's media flows: they start at its first
video frame and stop (state `idle`) when it leaves. Only H.264 can be forwarded
without re-encoding: a VP8 publisher leaves every destination in `error` with
`NEEDS_H264` as the reason.

Which destinations a session has is the caller's (the server keeps them): `configure()`
replaces the list at any time, starting new ones at once while live.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.aac import AacTranscoder
from stream.flv import Frame
from stream.packets import EncodedPacket
from stream.rtmp import ERROR, IDLE, RtmpDestination

logger = logging.getLogger(__name__)

NEEDS_H264 = "restreaming needs H.264 video; this publisher sends {codec}"


class Joinable(Protocol):
    """A thread-owning object stopped already, that the caller may wait for."""

    @property
    def alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where to restream: the full URL (stream key included) and a loggable name."""

    url: str
    name: str  # the URL with its stream key masked: the only form that is logged


class Restream:
    """The destinations of one room, fed from its publisher's frames."""

    def __init__(
        self,
        request_keyframe: Callable[[], None],
        *,
        targets: list[Target] | None = None,
        clock: Callable[[], float] = time.monotonic,
        **destination_options: Any,
    ) -> None:
        self._request_keyframe = request_keyframe
        self._clock = clock
        self._options = destination_options
        self._targets: dict[str, Target] = {t.url: t for t in targets or []}
        self._destinations: dict[str, RtmpDestination] = {}
        # The same destinations as one tuple, replaced whole: the transcoder's thread
        # iterates it while the loop changes the dict.
        self._fanout: tuple[RtmpDestination, ...] = ()
        self._aac: AacTranscoder | None = None
        # Stopped destinations (and transcoders) whose threads may still be finishing.
        self._stopping: list[Joinable] = []
        self._epoch: int | None = None
        self._has_audio = False
        self._audio_channels = 1
        self._refusal: str | None = None

    @property
    def wanted(self) -> bool:
        return bool(self._targets)

    def configure(self, targets: list[Target]) -> None:
        """The session's destinations now; removed ones stop, new ones start if live."""
        self._targets = {t.url: t for t in targets}
        for url in [u for u in self._destinations if u not in self._targets]:
            self._stop(url)
        if self._epoch is not None and self._refusal is None:
            self._start_missing()

    def push(
        self,
        epoch: int,
        codecs: Mapping[str, RTCRtpCodecParameters],
        kind: str,
        packet: EncodedPacket,
    ) -> None:
        """One frame of the current publisher (`epoch` numbers publishers); never blocks."""
        if epoch != self._epoch:
            if kind != "video":
                return  # destinations start at the new publisher's first video frame
            self._publisher_started(epoch, codecs)
        if self._refusal is not None or not self._fanout:
            return
        frame = Frame(kind, bytes(packet), packet.pts or 0, packet.is_keyframe, self._clock())
        if kind == "audio":
            if self._aac is not None:
                self._aac.push(frame)  # AAC reaches every destination from its thread
            return
        for destination in self._fanout:
            destination.offer(frame)

    def publisher_stopped(self) -> None:
        """The publisher left: every destination closes its connection and turns idle."""
        self._epoch = None
        self._refusal = None
        for url in list(self._destinations):
            self._stop(url)
        self._stop_aac()

    def states(self) -> dict[str, tuple[str, str | None]]:
        """Per destination URL: (idle | connecting | live | error, the reason of an error)."""
        states: dict[str, tuple[str, str | None]] = {url: (IDLE, None) for url in self._targets}
        if self._refusal is not None:
            return {url: (ERROR, self._refusal) for url in self._targets}
        for url, destination in self._destinations.items():
            states[url] = (destination.state, destination.error)
        return states

    def close(self) -> list[Joinable]:
        """Stop everything; returns the destinations whose threads the caller may join."""
        self.publisher_stopped()
        stopping, self._stopping = self._stopping, []
        return [d for d in stopping if d.alive]

    def stats(self) -> list[dict[str, Any]]:
        return [
            {
                "name": d.name,
                "state": d.state,
                "attempts": d.attempts,
                "connections": d.connections,
                "frames_sent": d.frames_sent,
                "bytes_sent": d.bytes_sent,
                "dropped": d.dropped,
            }
            for d in self._destinations.values()
        ]

    # -- internals -------------------------------------------------------------------

    def _publisher_started(self, epoch: int, codecs: Mapping[str, RTCRtpCodecParameters]) -> None:
        # A new publisher (a reconnect, a takeover) brings a new encoder and parameter
        # sets: each destination opens a fresh connection, starting at its keyframe.
        for url in list(self._destinations):
            self._stop(url)
        self._stop_aac()
        self._epoch = epoch
        names = {kind: codec.name for kind, codec in codecs.items()}
        self._has_audio = names.get("audio", "").lower() == "opus"
        audio = codecs.get("audio")
        stereo = audio is not None and str(audio.parameters.get("sprop-stereo", "0")) == "1"
        self._audio_channels = 2 if stereo else 1
        video = names.get("video", "")
        if video.lower() != "h264":
            self._refusal = NEEDS_H264.format(codec=video or "no video")
            if self._targets:
                logger.warning("restream: %s", self._refusal)
            return
        self._refusal = None
        if self._has_audio:
            self._aac = AacTranscoder(self._deliver_aac, channels=self._audio_channels)
            self._aac.start()
        self._start_missing()

    def _deliver_aac(self, frame: Frame) -> None:
        # On the transcoder's thread: offer() only queues, and the tuple is never mutated.
        for destination in self._fanout:
            destination.offer(frame)

    def _stop_aac(self) -> None:
        aac, self._aac = self._aac, None
        if aac is not None:
            aac.stop()
            self._stopping.append(aac)

    def _start_missing(self) -> None:
        for url, target in self._targets.items():
            if url in self._destinations:
                continue
            destination = RtmpDestination(
                url,
                target.name,
                has_audio=self._has_audio,
                audio_channels=self._audio_channels,
                request_keyframe=self._request_keyframe,
                **self._options,
            )
            self._destinations[url] = destination
            destination.start()
        self._fanout = tuple(self._destinations.values())

    def _stop(self, url: str) -> None:
        destination = self._destinations.pop(url)
        self._fanout = tuple(self._destinations.values())
        destination.stop()
        self._stopping = [d for d in self._stopping if d.alive]
        self._stopping.append(destination)
