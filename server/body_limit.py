"""Request bodies above FARMLIVE_MAX_BODY_BYTES answer 413, however they are sent.

A pure ASGI middleware: a declared Content-Length over the limit is refused before the
app runs; a chunked or lying body is counted as it is read, and the read that crosses the
limit raises a 413 HTTPException inside the app, where server/errors.py renders it.
Routes with their own tighter limits (SDP offers, Stripe events) keep them.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, photo_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Photo uploads (POST .../photos) are bigger than any other body.
        self.photo_max_bytes = photo_max_bytes or max_bytes

    def _message(self, limit: int) -> str:
        return f"request body larger than {limit} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.photo_max_bytes if scope["path"].endswith("/photos") else self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    response = error_response(413, "payload_too_large", self._message(limit))
                    if not value.isdigit():
                        response = error_response(400, "bad_request", "bad Content-Length")
                    await response(scope, receive, send)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, self._message(limit))
            return message

        await self.app(scope, counted, send)
