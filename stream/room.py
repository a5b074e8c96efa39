"""One live session on the relay: its current publisher, its viewers, and the fan-out between."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from stream.hls import HlsRecorder
from stream.keyframes import DEFAULT_INTERVAL_SECONDS, KeyframeRequests
from stream.packetizer import Packetizer
from stream.packets import EncodedPacket
from stream.parameter_sets import ParameterSets
from stream.publisher import Publisher
from stream.restream import Restream, Target
from stream.sdp import MEDIA_KINDS, same_codec
from stream.timeline import Timeline
from stream.track import PacketTrack
from stream.viewer import Viewer

LIVE = "live"
PAUSED = "paused"


class Room:
    """A session's publisher and viewers.

    Viewers outlive publishers: when the host drops, viewers stay connected and pick up
    again at the next keyframe of whoever publishes next. Status changes ("live" when a
    publisher's media flows, "paused" when it stops) go to `emit_status`.

    A publisher that arrives while another holds the room is a `candidate`: it takes
    over only when its media flows (its first video keyframe, or its first frame if it
    sends no video); until then the current publisher keeps the session, so a stray
    POST with the key can't leave viewers watching nothing. Peers replaced go to
    `retire`, which closes them.
    """

    def __init__(
        self,
        session_id: str,
        *,
        emit_status: Callable[[str, str], None],
        retire: Callable[[list[Publisher | Viewer]], None] = lambda peers: None,
        keyframe_interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        hls_dir: Path | None = None,
        restream_targets: list[Target] | None = None,
    ) -> None:
        self.session_id = session_id
        self.publisher: Publisher | None = None
        self.candidate: Publisher | None = None
        self.viewers: dict[str, Viewer] = {}
        # The last publisher's codecs: viewers are pinned to them, even while paused.
        self.codecs: dict[str, RTCRtpCodecParameters] = {}
        self.status: str | None = None
        # Negotiations in flight; a room with any is not empty.
        self.pending = 0
        self.last_media_at: float | None = None
        self.frames_in = {kind: 0 for kind in MEDIA_KINDS}
        self._emit_status = emit_status
        self._retire = retire
        self._clock = clock
        self._tracks: dict[str, list[PacketTrack]] = {kind: [] for kind in MEDIA_KINDS}
        self._timelines: dict[str, Timeline] = {}
        self._packetizers: dict[str, Packetizer] = {}
        self._video_epoch: int | None = None
        self._parameter_sets = ParameterSets()
        # HLS of an H.264 publisher into this directory, if any (stream.hls).
        self._hls_dir = hls_dir
        self.hls: HlsRecorder | None = None
        self._epochs = 0
        self._keyframes = KeyframeRequests(
            self._send_keyframe_request, interval=keyframe_interval, clock=clock
        )
        # RTMP/RTMPS destinations of the publisher (stream.restream); each on its own thread.
        self.restream = Restream(self.request_keyframe, targets=restream_targets)

    @property
    def empty(self) -> bool:
        return (
            self.publisher is None
            and self.candidate is None
            and not self.viewers
            and self.pending == 0
        )

    @property
    def active(self) -> bool:
        """Whether the current publisher holds the session: connected, or its media flowing."""
        publisher = self.publisher
        return publisher is not None and (publisher.connected or self.status == LIVE)

    def offer_publisher(self, publisher: Publisher) -> list[Publisher | Viewer]:
        """A new publisher: current at once if the room has none, else the candidate.

        Returns the peers it displaces (a previous candidate; or, made current, the
        publisher it replaces and the viewers it strands), for the caller to close.
        """
        if self.publisher is None:
            previous, stranded = self.set_publisher(publisher)
            return [peer for peer in (previous, *stranded) if peer is not None]
        displaced = self.candidate
        self.candidate = publisher
        return [displaced] if displaced is not None else []

    def next_epoch(self) -> int:
        self._epochs += 1
        return self._epochs

    def set_publisher(self, publisher: Publisher) -> tuple[Publisher | None, list[Viewer]]:
        """Make `publisher` current; returns the one it replaces and the viewers it strands.

        A viewer stranded is pinned to a codec the new publisher doesn't send (the host
        switched browsers, say): it is removed here and must be closed by the caller, so
        that its player reconnects and negotiates again.
        """
        previous = self.publisher
        self.publisher = publisher
        self.codecs = dict(publisher.codecs)
        stranded = [
            viewer
            for viewer in self.viewers.values()
            if any(
                kind in publisher.codecs and not same_codec(codec, publisher.codecs[kind])
                for kind, codec in viewer.codecs.items()
            )
        ]
        for viewer in stranded:
            self.remove_viewer(viewer.resource_id)
        return previous, stranded

    def publisher_gone(self, publisher: Publisher) -> bool:
        """The publisher disconnected or was deleted; True if it was the current one."""
        if publisher is self.candidate:
            self.candidate = None
            return False
        if publisher is not self.publisher:
            return False
        self.publisher = None
        self.restream.publisher_stopped()
        self._set_status(PAUSED)
        return True

    def add_viewer(self, viewer: Viewer) -> None:
        self.viewers[viewer.resource_id] = viewer
        for kind, track in viewer.tracks.items():
            if kind in viewer.codecs:
                self._tracks[kind].append(track)

    def remove_viewer(self, resource_id: str) -> Viewer | None:
        viewer = self.viewers.pop(resource_id, None)
        if viewer is None:
            return None
        for kind, track in viewer.tracks.items():
            if track in self._tracks[kind]:
                self._tracks[kind].remove(track)
        viewer.stop_tracks()
        return viewer

    def on_packet(self, publisher: Publisher, kind: str, packet: EncodedPacket) -> None:
        """Fan one encoded frame out to every viewer of its kind."""
        if publisher is self.candidate and self._takes_over(publisher, kind, packet):
            self.candidate = None
            previous, stranded = self.set_publisher(publisher)
            self._retire([peer for peer in (previous, *stranded) if peer is not None])
        if publisher is not self.publisher:
            # A replaced publisher may still deliver a frame or two while it closes.
            return
        self.last_media_at = self._clock()
        self.frames_in[kind] += 1
        if self.status != LIVE:
            self._set_status(LIVE)
        codec = publisher.codecs.get(kind)
        if codec is None:
            return
        timeline = self._timelines.get(kind)
        if timeline is None:
            timeline = self._timelines[kind] = Timeline(codec.clockRate, clock=self._clock)
        pts = timeline.map(publisher.epoch, packet.pts or 0)
        packet.pts = pts
        packet.dts = pts
        tracks = self._tracks[kind]
        if kind == "video":
            if codec.name.lower() == "h264":
                if publisher.epoch != self._video_epoch:
                    self._parameter_sets = ParameterSets()  # a new encoder's own sets
                packet = self._parameter_sets.complete(packet)
            self._video_frame(publisher, packet, tracks)
        if self._hls_dir is not None:
            self._record(publisher, kind, codec, packet)
        if self.restream.wanted:
            self.restream.push(publisher.epoch, publisher.codecs, kind, packet)
        for track in tracks:
            track.push(packet)

    def _video_frame(
        self, publisher: Publisher, packet: EncodedPacket, tracks: list[PacketTrack]
    ) -> None:
        if publisher.epoch != self._video_epoch:
            # A new publisher's frames don't follow the old one's: every viewer restarts
            # at a keyframe. Publishers begin with one, so only ask if this isn't it.
            self._video_epoch = publisher.epoch
            for track in tracks:
                track.needs_keyframe = True
            if not packet.is_keyframe:
                self.request_keyframe()
        if packet.is_keyframe:
            self._keyframes.keyframe_seen()

    def _record(
        self,
        publisher: Publisher,
        kind: str,
        codec: RTCRtpCodecParameters,
        packet: EncodedPacket,
    ) -> None:
        if self.hls is None:
            if kind != "video" or codec.name.lower() != "h264" or self._hls_dir is None:
                return  # HLS carries H.264 only; a VP8 publisher has none
            audio = publisher.codecs.get("audio")
            self.hls = HlsRecorder(
                self._hls_dir,
                has_audio=audio is not None and audio.name.lower() == "opus",
                request_keyframe=self.request_keyframe,
            )
        self.hls.push(kind, packet)

    @staticmethod
    def _takes_over(publisher: Publisher, kind: str, packet: EncodedPacket) -> bool:
        if "video" in publisher.codecs:
            return kind == "video" and packet.is_keyframe
        return True

    def packetizer(self, kind: str, codec: RTCRtpCodecParameters) -> Packetizer:
        """The session's shared packetizer for `kind`, replaced if the codec changed."""
        packetizer = self._packetizers.get(kind)
        if packetizer is None or packetizer.codec_name.lower() != codec.name.lower():
            packetizer = self._packetizers[kind] = Packetizer(codec)
        return packetizer

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, rate-limited per session."""
        self._keyframes.request()

    def check_stalled(self, stall_seconds: float) -> None:
        """Report "paused" when a connected publisher has sent nothing for `stall_seconds`."""
        if self.status != LIVE or self.last_media_at is None:
            return
        if self._clock() - self.last_media_at >= stall_seconds:
            self._set_status(PAUSED)

    def close(self) -> list[Publisher | Viewer]:
        """Detach everything without reporting a status; returns the peers to close."""
        peers: list[Publisher | Viewer] = []
        for publisher in (self.publisher, self.candidate):
            if publisher is not None:
                peers.append(publisher)
        self.publisher = self.candidate = None
        for resource_id in list(self.viewers):
            viewer = self.remove_viewer(resource_id)
            if viewer is not None:
                peers.append(viewer)
        self._keyframes.close()
        if self.hls is not None:
            self.hls.close()
        self.restream.close()
        return peers

    def stats(self) -> dict[str, Any]:
        tracks = [t for v in self.viewers.values() for t in v.tracks.values()]
        return {
            "status": self.status,
            "publisher": self.publisher is not None and self.publisher.connected,
            "takeover_pending": self.candidate is not None,
            "viewers": len(self.viewers),
            "codecs": {kind: codec.name for kind, codec in self.codecs.items()},
            "frames_in": dict(self.frames_in),
            "frames_forwarded": sum(t.forwarded for t in tracks),
            "frames_skipped": sum(t.skipped for t in tracks),
            "frames_dropped": sum(t.dropped for t in tracks),
            "keyframe_requests": self._keyframes.sent,
            "hls": self.hls is not None and self.hls.open,
            "restream": self.restream.stats(),
        }

    def _send_keyframe_request(self) -> None:
        if self.publisher is not None:
            self.publisher.request_keyframe()

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._emit_status(self.session_id, status)
