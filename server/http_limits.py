"""Bounded request heads for the embedded server: a size cap and a deadline.

uvicorn's httptools protocol (the fast one, and the default with uvicorn[standard]) has
neither: an unfinished head is buffered for as long and as large as a client likes, and
a connection that sends nothing, or one byte a second, is never closed. `BoundedHttpTools`
adds both: from the moment a connection opens or a new request begins until its headers
are complete, at most `max_header_bytes` may arrive (else 431 and close) within
`header_timeout_s` (else 408 and close). Bodies are bounded elsewhere (server/body_limit.py);
idle keep-alive connections by uvicorn's `timeout_keep_alive`; the number of connections
by `limit_concurrency` (503 past it) and the listen `backlog`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import Settings

_REFUSALS = {
    408: b"HTTP/1.1 408 Request Timeout\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
}


class BoundedHttpTools(HttpToolsProtocol):
    # Set by `protocol_for` on a subclass: uvicorn builds protocols from the class alone.
    max_header_bytes = 64 * 1024
    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = False
        self._head_timer: asyncio.TimerHandle | None = None

    def _start_head(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_expired)

    def _end_head(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()  # a connection that never sends a head is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse(431, "request headers too large")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head()

    def on_headers_complete(self) -> None:
        self._end_head()
        super().on_headers_complete()

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The WebSocket protocol owns the transport now; this object is only garbage, in
        # a cycle with its parser (which holds it), so without this it would wait for a
        # full GC pass with the request's scope and headers: break the cycle.
        self.parser = None  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(408, "request headers not received in time")

    def _refuse(self, status: int, message: str) -> None:
        self._end_head()
        body = message.encode()
        self.transport.write(
            _REFUSALS[status]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            + body
        )
        self.transport.close()


def protocol_for(settings: Settings) -> type[BoundedHttpTools]:
    """The protocol class with this deployment's limits."""
    return type(
        "BoundedHttpTools",
        (BoundedHttpTools,),
        {
            "max_header_bytes": settings.http_max_header_bytes,
            "header_timeout_s": settings.http_header_timeout_s,
        },
    )


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments for every server farmlive starts."""
    return {
        "http": protocol_for(settings),
        # Used only if uvicorn falls back to h11; the same cap.
        "h11_max_incomplete_event_size": settings.http_max_header_bytes,
        "timeout_keep_alive": settings.http_keep_alive_s,
        "limit_concurrency": settings.http_max_connections,
        "backlog": settings.http_backlog,
    }


def serve_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments for the app server (`farmlive serve`, bench/fanout.py)."""
    return {
        **uvicorn_limits(settings),
        # Browsers ask for permessage-deflate by default; it halves fan-out throughput and
        # keeps a zlib context per socket.
        "ws_per_message_deflate": False,
        "ws_max_size": settings.live_max_frame_bytes,
        "proxy_headers": False,
        "access_log": False,
    }
