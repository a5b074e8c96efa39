"""Security headers on every HTTP response: a strict CSP for the pages, nosniff, no framing.

A pure ASGI middleware (no BaseHTTPMiddleware), so streaming responses and WebSockets pass
through untouched and the order path pays only for a header append.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Swagger UI (server/routes/docs.py) runs from our own files but sets style attributes from
# React: its page alone may use inline styles; scripts stay 'self' only.
_DOCS_PREFIXES = ("/api/docs",)
# A Host header is echoed into connect-src only when it looks like a host[:port].
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]{1,255}$")


def origin_of(url: str | None) -> str | None:
    """The scheme://host[:port] of an absolute URL, or None for relative/empty ones."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """Adds CSP, X-Content-Type-Options, Referrer-Policy and friends unless already set."""

    def __init__(self, app: ASGIApp, connect_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.connect_origins = tuple(dict.fromkeys(o for o in connect_origins if o))

    def csp(self, host: str | None, *, inline_styles: bool = False) -> str:
        connect = ["'self'"]
        if host and _HOST.match(host):
            # Older engines do not let 'self' cover ws:/wss:; name them explicitly.
            connect += [f"ws://{host}", f"wss://{host}"]
        for origin in self.connect_origins:
            ws = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
            connect += [origin, ws]
        return "; ".join(
            (
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self' 'unsafe-inline'" if inline_styles else "style-src 'self'",
                "img-src 'self' data: blob:",
                "media-src 'self' blob:",
                "font-src 'self'",
                "connect-src " + " ".join(dict.fromkeys(connect)),
                "object-src 'none'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        extra: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
        ]
        policy = self.csp(host, inline_styles=path.startswith(_DOCS_PREFIXES))
        extra.append((b"content-security-policy", policy.encode("latin-1")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
