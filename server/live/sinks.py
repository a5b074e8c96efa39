"""Where a viewer's events go: straight into the socket's transport, or through a queue.

`DirectSink` is the fast path under uvicorn's default WebSocket protocol (websockets'
sans-I/O): the fan-out writes one pre-built frame (server frames are unmasked, so every
client gets the very same bytes) to each transport in one loop step. The transport's
write buffer is the client's bounded queue: past `max_buffer` bytes the client is too
slow and is dropped, never waited for. It reads a few attributes of uvicorn's protocol
object; tests/server/test_live_sinks.py pins them, and any other server gets:

`QueuedSink`, the portable path: a bounded asyncio.Queue and one writer task per
client, through the ASGI `send`. Correct everywhere, several times slower per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, Protocol

from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode

from server.live.slim import SLIMMED, slim
from shop.tasks import TaskSet

log = logging.getLogger("farmlive.live")

try:  # uvicorn's default WebSocket protocol since 0.35
    from uvicorn.protocols.websockets.websockets_sansio_impl import (
        WebSocketsSansIOProtocol as _SansIO,
    )
except ImportError:  # pragma: no cover - another uvicorn, or none
    _SansIO = None  # type: ignore[assignment,misc]

# How long a dropped client gets to read our close frame before the socket is aborted.
CLOSE_GRACE_S = 5.0
# The kernel's send buffer per live socket, fixed instead of autotuned (up to 4 MiB on
# Linux): events are small, and lag hidden in the kernel would escape max_buffer.
SNDBUF_BYTES = 64 * 1024


def text_frame(payload: str) -> bytes:
    """One unmasked text frame, as a server sends it (no extensions: deflate is off)."""
    return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)


class Sink(Protocol):
    closed: bool
    direct: bool

    def send(self, frame: bytes, payload: str) -> bool:
        """Queue an event; False when the client is too far behind (drop it)."""
        ...

    def send_text(self, payload: str) -> bool:
        """Queue a private event (frame built here)."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Close the socket with `code`; never waits."""
        ...

    async def receive(self, websocket: WebSocket) -> dict[str, Any]:
        """The next ASGI message from the client (a disconnect once closed)."""
        ...

    async def aclose(self) -> None:
        """Release the sink's resources (the handler calls it when the socket ends)."""
        ...


class DirectSink:
    __slots__ = ("_limit", "_proto", "_transport", "closed")
    direct = True

    def __init__(self, proto: Any, max_buffer: int) -> None:
        self._proto = proto
        self._transport: asyncio.Transport = proto.transport
        self._limit = max_buffer
        self.closed = False

    @classmethod
    def attach(
        cls, raw_send: object, *, max_buffer: int, max_frame_bytes: int
    ) -> DirectSink | None:
        """The fast sink for this connection, or None when the server is not uvicorn's."""
        proto = getattr(raw_send, "__self__", None)
        if _SansIO is None or not isinstance(proto, _SansIO):
            return None
        conn = getattr(proto, "conn", None)
        needed = ("transport", "close_sent", "read_paused", "close_timer", "loop", *SLIMMED)
        if conn is None or not all(hasattr(proto, name) for name in needed):
            return None
        if not hasattr(conn, "max_message_size") or not proto.handshake_complete:
            return None
        slim(proto)  # what an idle socket need not keep (server/live/slim.py)
        # websockets reads this before each frame: a larger one fails the connection (1009).
        conn.max_message_size = max_frame_bytes
        sock = proto.transport.get_extra_info("socket")
        with contextlib.suppress(AttributeError, OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF_BYTES)
        return cls(proto, max_buffer)

    def send(self, frame: bytes, payload: str) -> bool:
        transport = self._transport
        if self.closed or self._proto.close_sent or transport.is_closing():
            return True  # on its way out; the handler removes it
        if transport.get_write_buffer_size() + len(frame) > self._limit:
            return False
        transport.write(frame)
        return True

    def send_text(self, payload: str) -> bool:
        return self.send(text_frame(payload), payload)

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        proto, transport = self._proto, self._transport
        if proto.close_sent or transport.is_closing():
            return
        # What uvicorn does for an ASGI "websocket.close", minus waiting for the buffer to
        # drain (a slow client may never read it): queue the close frame, stop accepting
        # messages, wake the app's receive(), and abort the socket if no reply comes.
        try:
            proto.conn.send_close(code, reason)
            transport.write(b"".join(proto.conn.data_to_send()))
        except Exception:  # the connection is already failing
            transport.abort()
            return
        proto.close_sent = True
        if proto.read_paused:
            proto.read_paused = False
            transport.resume_reading()
        proto.close_timer = proto.loop.call_later(CLOSE_GRACE_S, transport.abort)
        proto.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def receive(self, websocket: WebSocket) -> dict[str, Any]:
        return dict(await websocket.receive())

    async def aclose(self) -> None:
        self.closed = True


class QueuedSink:
    direct = False

    def __init__(self, websocket: WebSocket, max_messages: int) -> None:
        self._websocket = websocket
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(max_messages)
        self._close: tuple[int, str] | None = None
        self._done = asyncio.Event()
        self._sending = False
        self._tasks = TaskSet()
        self._writer = self._tasks.spawn(self._write(), name="live-queued-sink")
        self.closed = False

    def send(self, frame: bytes, payload: str) -> bool:
        return self.send_text(payload)

    def send_text(self, payload: str) -> bool:
        if self.closed:
            return True
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            return False
        return True

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._close = (code, reason)
        try:
            self._queue.put_nowait(None)  # after what is queued (say, the error event)
        except asyncio.QueueFull:  # a client too slow to read: the close frame goes next
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
            if self._sending:
                self._writer.cancel()  # stuck writing to a client that does not read

    async def _write(self) -> None:
        try:
            while (payload := await self._queue.get()) is not None:
                self._sending = True
                await self._websocket.send_text(payload)
                self._sending = False
        except asyncio.CancelledError:
            if self._close is None:  # aclose(): the handler is done with us
                self._done.set()
                raise
        except Exception as exc:  # the client went away mid-send
            log.debug("live socket writer ended: %s", exc)
        if self._close is not None:
            code, reason = self._close
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_GRACE_S):
                    await self._websocket.close(code, reason)
        self._done.set()

    async def receive(self, websocket: WebSocket) -> dict[str, Any]:
        if self._done.is_set():
            return {"type": "websocket.disconnect", "code": 1006}
        receiving = asyncio.ensure_future(websocket.receive())
        done_waiter = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait({receiving, done_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done_waiter.cancel()
        if receiving.done():
            return dict(receiving.result())
        receiving.cancel()
        code = self._close[0] if self._close else 1006
        return {"type": "websocket.disconnect", "code": code}

    async def aclose(self) -> None:
        self.closed = True
        # After a close(), let the writer finish: queued events, then the close frame.
        await self._tasks.close(grace_s=CLOSE_GRACE_S if self._close is not None else 0)
