"""The HLS route's segment cache: same bytes and headers as the file, bounded, and a
deleted segment is gone even if it was cached."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from server.routes.hls import SEGMENT_CACHE, SegmentCache, hls_router


def client(root: Path, cache_bytes: int) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(hls_router(lambda: root, segment_cache_bytes=cache_bytes))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_cached_segments_answer_like_the_file_and_deleted_ones_are_404(
    tmp_path: Path,
) -> None:
    """Twice the same bytes and immutable headers; after the file is removed, 404."""
    run = tmp_path / "7" / "r1a2b"
    run.mkdir(parents=True)
    segment = run / "seg00000.m4s"
    segment.write_bytes(b"\x00moof" * 1000)
    (run / "init.mp4").write_bytes(b"init")
    async with client(tmp_path, 1 << 20) as c:
        for _ in range(2):
            r = await c.get("/hls/7/r1a2b/seg00000.m4s")
            assert r.status_code == 200
            assert r.content == segment.read_bytes()
            assert r.headers["cache-control"] == SEGMENT_CACHE
            assert r.headers["content-type"] == "video/iso.segment"
        init = await c.get("/hls/7/r1a2b/init.mp4")
        assert init.status_code == 200 and init.content == b"init"
        segment.unlink()
        gone = await c.get("/hls/7/r1a2b/seg00000.m4s")
        assert gone.status_code == 404


async def test_the_cache_keeps_within_its_bytes(tmp_path: Path) -> None:
    """The least recently used segment goes first; one bigger than the cache is not kept."""
    files = []
    for i, size in enumerate([400, 400, 400, 2000]):
        path = tmp_path / f"seg{i:05d}.m4s"
        path.write_bytes(bytes([i]) * size)
        files.append(path)
    cache = SegmentCache(1000)
    for path in files[:2]:
        assert await cache.read(path) == path.read_bytes()
    await cache.read(files[0])  # used again: files[1] is now the oldest
    await cache.read(files[2])
    files[0].write_bytes(b"changed")  # never happens to a segment; shows what is cached
    files[1].write_bytes(b"changed")
    assert await cache.read(files[0]) == bytes([0]) * 400  # kept
    assert await cache.read(files[1]) == b"changed"  # evicted, read again
    assert await cache.read(files[3]) == bytes([3]) * 2000
    files[3].write_bytes(b"changed")
    assert await cache.read(files[3]) == b"changed"  # too big to keep
