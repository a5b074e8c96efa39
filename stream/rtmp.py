"""One RTMP/RTMPS destination of a live session: its own thread, queue, state and retries.

The relay's event loop must never wait for a platform: `offer()` (on the loop) only puts
a frame in this destination's bounded queue, and everything that can block (DNS, TCP,
TLS, the RTMP handshake, writes, the AAC encoder) runs on the destination's thread
(`stream.flv`). A destination that cannot keep up fills its queue: it is dropped at
once (state `error`, "too slow") and its thread reconnects after a back-off, starting
again at a keyframe; the other destinations and the viewers never notice.

States: `idle` (not running: no publisher, or stopped), `connecting`, `live` (the
platform accepted the stream), `error` (with the reason; a retry is due in
`retry_in` seconds). Only `name` (the URL with its stream key masked, chosen by the
caller) ever reaches a log line or an error text; the URL itself stays inside.

PyAV opens the connection (`avio_open`, the RTMP handshake, the FLV header) without
a timeout and while holding the GIL, so a platform that hangs there would stall the
whole process. The thread therefore first runs the start of the handshake itself
(TCP, TLS for `rtmps`, C0+C1 and the server's S0) with plain sockets and a deadline:
an unreachable, refusing or silent platform fails fast, with a clear reason, before
FFmpeg touches it. Writes release the GIL; one stuck on a stalled platform is cut
short by shutting the connection's socket down (`stream.sockets`), found by its peer
address once FFmpeg has connected, so a stop or a drop never waits for TCP to give up.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import av

from stream.flv import FlvMuxer, Frame
from stream.sockets import ConnectionFinder

logger = logging.getLogger(__name__)

IDLE, CONNECTING, LIVE, ERROR = "idle", "connecting", "live", "error"

QUEUE_FRAMES = 512  # ~6 s of 30 fps video and 50/s Opus: a connect's worth, not more
CONNECT_TIMEOUT_S = 5.0
KEYFRAME_WAIT_S = 10.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STEADY_S = 30.0  # live this long: the next failure starts the back-off again
_POLL_S = 0.25
_C0_C1 = b"\x03" + bytes(8) + os.urandom(1528)  # RTMP version 3, time 0, zero, random
TOO_SLOW = "too slow: its queue filled, dropped; it reconnects"

_STOP = object()


class Dropped(Exception):
    """The queue filled while the thread was busy: this connection is given up."""


class HandshakeFailed(Exception):
    """The server did not answer the start of the RTMP handshake like an RTMP server."""


def default_port(scheme: str) -> int:
    return 443 if scheme == "rtmps" else 1935


def reason(exc: BaseException) -> str:
    """A short reason for an error, without any URL (FFmpeg puts the URL in messages)."""
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or 'handshake'})".lower()
    if isinstance(exc, HandshakeFailed):
        return str(exc)
    if isinstance(exc, TimeoutError | socket.timeout):
        return "connection timed out"
    if isinstance(exc, OSError) and exc.errno is not None:
        known = {
            errno.ECONNREFUSED: "connection refused",
            errno.ECONNRESET: "connection reset by the server",
            errno.EPIPE: "connection closed by the server",
            errno.EHOSTUNREACH: "host unreachable",
            errno.ENETUNREACH: "network unreachable",
            errno.ETIMEDOUT: "connection timed out",
            errno.EIO: "the server refused or ended the stream (I/O error)",
            errno.EACCES: "the server refused the stream key",
            errno.EPERM: "the server refused the stream (a wrong key, or already publishing)",
        }
        if exc.errno in known:
            return known[exc.errno]
        return (exc.strerror or type(exc).__name__).lower()
    if isinstance(exc, av.error.FFmpegError):
        return (exc.strerror or type(exc).__name__).lower()
    return type(exc).__name__


class RtmpDestination:
    """Streams a room's frames to one URL on its own thread; single use: `start`, `stop`."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        has_audio: bool,
        request_keyframe: Callable[[], None],
        audio_channels: int = 1,
        queue_frames: int = QUEUE_FRAMES,
        backoff: tuple[float, ...] = BACKOFF_S,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.name = name
        self.has_audio = has_audio
        self.audio_channels = audio_channels
        self._request_keyframe = request_keyframe
        self._queue: queue.Queue[Frame | object] = queue.Queue(maxsize=queue_frames)
        self._backoff = backoff
        self._connect_timeout = connect_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"restream {name}", daemon=True)
        # Written by both sides; each is one attribute store, atomic under the GIL.
        self._state: tuple[str, str | None] = (IDLE, None)
        self._accepting = False  # the thread waits for frames (connected or connecting)
        self._needs_keyframe = True
        self._overflowed = False
        self._connection = ConnectionFinder()
        self.retry_in: float | None = None
        self.attempts = 0
        self.connections = 0
        self.dropped = 0
        self.frames_sent = 0
        self.bytes_sent = 0  # of the publisher's frames (what the FLV carries, before AAC)

    # -- the event loop's side -----------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state[0]

    @property
    def error(self) -> str | None:
        return self._state[1]

    def start(self) -> None:
        self._state = (CONNECTING, None)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (it closes its connection); the state is idle at once."""
        self._stop.set()
        self._accepting = False
        self._state = (IDLE, None)
        self._connection.shutdown()  # a write stuck on a stalled platform returns now
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass  # the thread polls the stop flag too

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def offer(self, frame: Frame) -> None:
        """Queue one frame if the thread wants frames; never blocks.

        Video comes from the event loop; AAC from the room's transcoder thread, which
        never asks for a keyframe (only the loop may talk to the publisher).
        """
        if not self._accepting:
            return
        if self._needs_keyframe:
            if frame.kind != "video":
                return
            if not frame.keyframe:
                self._request_keyframe()
                return
            self._needs_keyframe = False
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self._accepting = False
            self._overflowed = True
            self.dropped += 1
            self._state = (ERROR, TOO_SLOW)
            self._connection.shutdown()
            logger.warning("restream to %s: %s", self.name, TOO_SLOW)

    # -- the destination's thread --------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._set(CONNECTING, None)
            began = time.monotonic()
            try:
                self._stream_once()
            except Dropped:
                problem = TOO_SLOW
            except Exception as exc:
                # A drop shuts the socket down, and the write it cut short fails here.
                problem = TOO_SLOW if self._overflowed else reason(exc)
                logger.warning("restream to %s failed: %s", self.name, problem)
            else:
                break  # stopped
            finally:
                self._accepting = False
                self._drain()
            if self._stop.is_set():
                break
            if time.monotonic() - began >= STEADY_S:
                failures = 0
            delay = self._backoff[min(failures, len(self._backoff) - 1)]
            failures += 1
            self.retry_in = delay
            self._set(ERROR, problem)
            self._stop.wait(delay)
            self.retry_in = None
        self._state = (IDLE, None)

    def _stream_once(self) -> None:
        self.attempts += 1
        self._check_reachable()
        self._overflowed = False
        self._needs_keyframe = True
        self._accepting = True  # `offer` skips to the next keyframe, asking for one
        first = self._next(KEYFRAME_WAIT_S)
        if first is None:
            if self._stop.is_set():
                return
            raise TimeoutError("no keyframe from the publisher")
        muxer = FlvMuxer(self.url, first, has_audio=self.has_audio, channels=self.audio_channels)
        try:
            with self._connection.watch(self._peer()):
                muxer.connect()
            if self._overflowed:
                raise Dropped()
            self.connections += 1
            self._set(LIVE, None)
            logger.info("restream to %s is live", self.name)
            muxer.write(first)
            while True:
                frame = self._next(None)
                if frame is None:
                    return  # stopped
                muxer.write(frame)
                self.frames_sent += 1
                self.bytes_sent += len(frame.data)
        finally:
            if self._overflowed or self._stop.is_set():
                self._connection.shutdown()  # nothing more is sent: the trailer can't block
            try:
                muxer.close()
            except Exception as exc:  # the connection is gone anyway
                logger.info("restream to %s: closing: %s", self.name, reason(exc))
            self._connection.forget()

    def _next(self, within: float | None) -> Frame | None:
        """The next frame; None once stopped (or after `within` seconds without one)."""
        deadline = None if within is None else time.monotonic() + within
        while not self._stop.is_set():
            if self._overflowed:
                raise Dropped()
            try:
                item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if deadline is not None and time.monotonic() > deadline:
                    return None
                continue
            if item is _STOP:
                return None
            assert isinstance(item, Frame)
            return item
        return None

    def _peer(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "", parts.port or default_port(parts.scheme)

    def _check_reachable(self) -> None:
        """TCP (and TLS) to the platform, C0+C1 sent, S0 read back: all within the deadline."""
        host, port = self._peer()
        with socket.create_connection((host, port), timeout=self._connect_timeout) as raw:
            connection: socket.socket = raw
            if urlsplit(self.url).scheme == "rtmps":
                connection = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
            try:
                connection.sendall(_C0_C1)
                version = connection.recv(1)
            except TimeoutError:
                raise HandshakeFailed("the server did not answer the RTMP handshake") from None
            finally:
                if connection is not raw:
                    connection.close()
        if version != b"\x03":
            raise HandshakeFailed("the server did not answer like an RTMP server")

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _set(self, state: str, error: str | None) -> None:
        if not self._stop.is_set():
            self._state = (state, error)
