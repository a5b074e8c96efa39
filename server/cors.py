"""CORS for the media endpoints: WHIP/WHEP players and studios on other origins.

A browser's WHEP player on another site (or the pages on `FARMLIVE_PUBLIC_URL` talking
to a separate `farmlive relay` at `FARMLIVE_MEDIA_URL`) needs a preflight answer for its
`POST application/sdp` with `Authorization`, and must be allowed to read `Location`
(to DELETE later) and `Link` (the ICE servers). Only listed origins get the headers; a
`*` in the list allows any origin, which suits public viewing but not the studio's key.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

ALLOW_METHODS = "OPTIONS, POST, DELETE, PATCH"
ALLOW_HEADERS = "Authorization, Content-Type, If-Match"
EXPOSE_HEADERS = "Location, Link, Retry-After, ETag, Accept-Patch, Accept-Post"
PREFLIGHT_MAX_AGE = "600"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def media_origins(allowed_origins: Iterable[str], public_url: str | None) -> frozenset[str]:
    """`FARMLIVE_ALLOWED_ORIGINS` plus the public URL's origin (the default when none listed)."""
    origins = {o.strip().rstrip("/").lower() for o in allowed_origins if o.strip()}
    if public_url:
        origins.add(origin_of(public_url))
    return frozenset(origins)


class Cors:
    """Adds CORS headers for the allowed origins and answers preflights."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)
        self._any = "*" in self.origins

    def allowed(self, origin: str | None) -> bool:
        if not origin:
            return False
        return self._any or origin.rstrip("/").lower() in self.origins

    def apply(self, request: Request, response: Response) -> Response:
        """Let the request's origin read `response`, if it is allowed."""
        origin = request.headers.get("origin")
        # Caches must not serve one origin's answer to another.
        response.headers.append("Vary", "Origin")
        if self.allowed(origin):
            assert origin is not None
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response

    def preflight(self, request: Request, response: Response) -> Response:
        """Complete an OPTIONS answer; a preflight from an allowed origin gets its grants."""
        self.apply(request, response)
        origin = request.headers.get("origin")
        if self.allowed(origin) and request.headers.get("access-control-request-method"):
            response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
