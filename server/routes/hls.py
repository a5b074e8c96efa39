"""`GET /hls/{sid}/index.m3u8` and its segments: the relay's HLS (`stream.hls`) over HTTP.

Cache headers let any HTTP cache or CDN carry the mass audience: the playlist changes
every segment (`max-age=1`), init and media segments never change once written
(`immutable`, a year). A process without the session's files redirects (307) to the
relay that records it when the registry knows one (`server.relay_registry`).

Segments are immutable once listed (the recorder writes each under a temporary name and
renames it), so the route keeps the newest ones in memory (`SegmentCache`): a thousand
players at the live edge all ask for the same one or two segments, and a file response
would cost each of them a few thread hops to read what is already in memory.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from server.cors import Cors
from server.relay_registry import RelayRegistry
from stream.hls import PLAYLIST

PLAYLIST_CACHE = "public, max-age=1"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
_FILE = re.compile(r"index\.m3u8|r[0-9a-f]{1,16}/(init\.mp4|seg\d{5}\.m4s)")
_SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
}


DEFAULT_SEGMENT_CACHE_BYTES = 64 << 20  # ~4 min of one 1 Mbit/s session, or many live edges


class SegmentCache:
    """The most recently served segment files' bytes, least recently used out first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Path, bytes] = OrderedDict()
        self._size = 0

    async def read(self, path: Path) -> bytes:
        data = self._items.get(path)
        if data is not None:
            self._items.move_to_end(path)
            return data
        data = await anyio.to_thread.run_sync(path.read_bytes)
        if 0 < len(data) <= self.max_bytes:
            self._items[path] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
        return data


def _missing() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "not_found", "message": "no HLS for this session (yet)"}},
        status_code=404,
        headers={"Cache-Control": "no-store"},
    )


def hls_router(
    hls_root: Callable[[], Path | None],
    *,
    cors: Cors | None = None,
    registry: Callable[[], RelayRegistry | None] | None = None,
    segment_cache_bytes: int = DEFAULT_SEGMENT_CACHE_BYTES,
) -> APIRouter:
    router = APIRouter(tags=["media"])
    cors = cors or Cors(())
    cache = SegmentCache(segment_cache_bytes) if segment_cache_bytes > 0 else None

    async def elsewhere(request: Request, session_id: str) -> str | None:
        current = registry() if registry is not None else None
        if current is None:
            return None
        holder = await current.owner(session_id)
        if holder is None or holder == current.self_url:
            return None
        return f"{holder}{request.url.path}"

    @router.get("/hls/{session_id}/index.m3u8")
    async def hls_playlist(session_id: str, request: Request) -> Response:
        return await hls_file(session_id, PLAYLIST, request)

    @router.get("/hls/{session_id}/{run}/{name}")
    async def hls_segment(session_id: str, run: str, name: str, request: Request) -> Response:
        return await hls_file(session_id, f"{run}/{name}", request)

    async def hls_file(session_id: str, name: str, request: Request) -> Response:
        root = hls_root()
        if root is None or not _SESSION.fullmatch(session_id) or not _FILE.fullmatch(name):
            return cors.apply(request, _missing())
        path = root / session_id / name
        if not path.is_file():
            target = await elsewhere(request, session_id)
            if target is not None:
                return cors.apply(request, Response(status_code=307, headers={"Location": target}))
            return cors.apply(request, _missing())
        response: Response
        if name == PLAYLIST:
            # Read whole: the recorder replaces the playlist (rename) every segment, and a
            # FileResponse would send the new file's bytes under the old one's length.
            response = Response(
                path.read_bytes(),
                media_type=_TYPES[path.suffix],
                headers={"Cache-Control": PLAYLIST_CACHE},
            )
        elif cache is not None and path.suffix == ".m4s":  # init.mp4: read as it is, uncached
            response = Response(
                await cache.read(path),
                media_type=_TYPES[path.suffix],
                headers={"Cache-Control": SEGMENT_CACHE},
            )
        else:
            response = FileResponse(
                path, media_type=_TYPES[path.suffix], headers={"Cache-Control": SEGMENT_CACHE}
            )
        return cors.apply(request, response)

    return router
