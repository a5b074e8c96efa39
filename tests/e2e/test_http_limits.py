"""A real `farmlive serve` under header abuse: oversized and slow heads are cut off.

Finding 3: 20 connections of 50 MB unfinished headers took a server from 254 MB to
1.4 GB, and 500 slow-header connections were never closed. Bounded here: each abusive
connection sends at most 4 MB, on loopback, against limits the test sets.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.e2e.procs import Server, farmlive_env

HEADER_TIMEOUT_S = 2.0
CAP = 4 << 20  # what one abusive connection may send at most, if never cut off


def rss_bytes(pid: int) -> int:
    """Resident memory of the server process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def oversized_head(port: int) -> tuple[int, bytes]:
    """Send an unfinished header line until the server stops us; (bytes sent, its answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
    sent, chunk = 0, b"a" * 65536
    try:
        while sent < CAP:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            if reader.at_eof() or writer.transport.is_closing():
                break  # the server closed (or reset) the connection
            await asyncio.sleep(0)
    except OSError:
        pass  # reset by the server: what we want
    try:
        answer = await asyncio.wait_for(reader.read(200), 5)
    except (OSError, TimeoutError):
        answer = b""
    writer.transport.abort()
    return sent, answer


async def just_over_the_cap(port: int) -> bytes:
    """One write of a head a little over the cap, then read: the 431 itself is readable."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (70 * 1024))
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(200), 5)
    finally:
        writer.transport.abort()


async def slow_head(port: int, silent: bool) -> tuple[float, bytes]:
    """Dribble a head (or send nothing); (seconds until the server closed, what it said)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if not silent:
        writer.write(b"GET /healthz HTTP/1.1\r\n")
    answer = b""
    deadline = started + HEADER_TIMEOUT_S + 15
    while time.monotonic() < deadline:
        try:
            got = await asyncio.wait_for(reader.read(200), 0.5)
        except TimeoutError:
            got = None
        except OSError:
            break
        if got == b"":
            break
        if got:
            answer += got
            continue
        if not silent:
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
            except OSError:
                break
    writer.transport.abort()
    return time.monotonic() - started, answer


def test_oversized_and_slow_heads_are_refused_and_memory_stays_flat(tmp_path: Path) -> None:
    """431 for heads over the cap, 408 for heads not done in time; RSS grows by little."""
    env = farmlive_env(
        FARMLIVE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/f.db",
        FARMLIVE_HTTP_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        FARMLIVE_HTTP_MAX_HEADER_BYTES=str(64 * 1024),
    )
    with Server(tmp_path, env) as server:
        assert server.proc is not None
        before = rss_bytes(server.proc.pid)

        async def abuse() -> tuple[list[tuple[int, bytes]], list[tuple[float, bytes]]]:
            big = await asyncio.gather(*[oversized_head(server.port) for _ in range(20)])
            slow = await asyncio.gather(
                *[slow_head(server.port, silent=i % 5 == 0) for i in range(100)]
            )
            return big, slow

        big, slow = asyncio.run(abuse())
        after = rss_bytes(server.proc.pid)
        for sent, answer in big:
            assert sent < 2 << 20, sent  # cut off long before the 4 MB it would send
            assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer
        assert asyncio.run(just_over_the_cap(server.port)).startswith(b"HTTP/1.1 431")
        for took, answer in slow:
            assert took < HEADER_TIMEOUT_S + 10, took
            assert answer.startswith(b"HTTP/1.1 408"), answer
        assert after - before < 40 << 20, (before, after)
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_a_normal_request_with_ordinary_headers_passes(tmp_path: Path) -> None:
    """Cookies and headers of a real browser's size are well under the cap."""
    env = farmlive_env(FARMLIVE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/f.db")
    with Server(tmp_path, env) as server:
        headers = {"Cookie": "a=" + "x" * 8000, "User-Agent": "Mozilla/5.0 " + "y" * 500}
        with httpx.Client(timeout=5) as client:
            for _ in range(3):  # on one kept-alive connection
                assert client.get(f"{server.url}/healthz", headers=headers).status_code == 200
