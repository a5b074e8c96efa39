"""An ASGI middleware that hands the server's own `send` to the live gateway.

Starlette and middlewares may wrap `send`; the fan-out's fast path needs the server's
bound method itself (see sinks.DirectSink), so it is kept in the scope's extensions.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "farmlive.raw_send"


class CaptureRawSend:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            extensions: dict[str, Any] = dict(scope.get("extensions") or {})
            extensions[RAW_SEND] = send
            scope = {**scope, "extensions": extensions}
        await self.app(scope, receive, send)
