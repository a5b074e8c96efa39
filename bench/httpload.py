"""A lean HTTP/1.1 load client: a fixed set of keep-alive connections on asyncio streams.

General-purpose clients spend more CPU per request than the server under test does, so
a benchmark (or a race test) built on them measures the client. This one writes raw
requests and reads just the status line, headers and body.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Response:
    status: int
    body: bytes
    latency_s: float
    # `Set-Cookie` values only (a soak's returning buyers send their device cookie back);
    # other headers are not kept, to keep the client cheap.
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        started = time.perf_counter()
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = 0, False
        cookies: list[str] = []
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "set-cookie":
                cookies.append(value.strip())
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return Response(status, data, time.perf_counter() - started, cookies)


async def run_requests(
    url: str,
    requests: Iterable[tuple[str, str, bytes, dict[str, str]]],
    *,
    connections: int = 64,
    on_response: Callable[[int, Response], None] | None = None,
) -> list[Response | BaseException]:
    """Send every request over `connections` keep-alive connections; results in order."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    work = list(enumerate(requests))
    results: list[Response | BaseException] = [ConnectionError("not sent")] * len(work)
    queue: asyncio.Queue[tuple[int, tuple[str, str, bytes, dict[str, str]]]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def worker() -> None:
        conn = Connection(host, port)
        try:
            while True:
                try:
                    i, (method, path, body, headers) = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    results[i] = await conn.request(method, path, body, headers)
                    if on_response is not None:
                        on_response(i, results[i])  # type: ignore[arg-type]
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                    results[i] = exc
                    await conn.close()
        finally:
            await conn.close()

    await asyncio.gather(*[worker() for _ in range(min(connections, len(work)) or 1)])
    return results
