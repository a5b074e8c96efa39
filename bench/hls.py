"""HLS origin bench: N concurrent readers of one session's playlist and segments, one process.

    .venv/bin/python bench/hls.py [--readers 1000] [--seconds 15] [--client-procs 2]
                                  [--pace live|burst] [--segment-cache-mb 64]

The server is the real HLS route (`server/routes/hls.py`) under uvicorn (uvloop, httptools,
as `farmlive serve` runs), serving a recording made by the relay's own `HlsRecorder` from a
synthetic 640x360 H.264 stream (2 s segments). `--pace live` (default): each reader is a
player at the live edge, joining at a random moment and fetching the playlist and one
segment every 2 s (1 request/s each), walking the recording as if it were live.
`--pace burst`: each reader fetches the recording's segments back to back 0.5 s apart
(about 4x real time), a stress case. Readers use a bare
keep-alive HTTP/1.1 client (one connection each, as a player holds), cheap enough that the
origin, not the client, is what is measured. Printed: requests/s, playlist and segment
latency p50/p99, errors, server CPU. Loopback only, stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import multiprocessing
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SESSION = "1"
TARGET_S = 2.0  # the recorder's segment length: a live player's refresh period


def record(directory: Path, seconds: int = 20) -> None:
    """A real recording: libx264 frames through HlsRecorder, as a relay writes them."""
    import av

    from stream.bitstream import is_h264_keyframe
    from stream.hls import HlsRecorder

    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 640, 360, "yuv420p"
    codec.time_base = fractions.Fraction(1, 30)
    codec.bit_rate = 1_000_000
    codec.options = {"profile": "baseline", "tune": "zerolatency", "g": "60", "bf": "0"}
    recorder = HlsRecorder(directory / SESSION, has_audio=False)
    for i in range(seconds * 30):
        frame = av.VideoFrame(640, 360, "yuv420p")
        for n, plane in enumerate(frame.planes):
            plane.update(
                os.urandom(64) * (plane.buffer_size // 64)
                if n == 0
                else bytes([128]) * plane.buffer_size
            )
        frame.pts = i
        for packet in codec.encode(frame):
            out = av.Packet(bytes(packet))
            out.pts = out.dts = i * 3000
            out.time_base = fractions.Fraction(1, 90000)
            out.is_keyframe = is_h264_keyframe(bytes(packet))
            recorder.push("video", out)
    recorder.close()


def serve(directory: Path, sock: socket.socket, cache_mb: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    from server.routes.hls import hls_router

    app = FastAPI()
    app.include_router(hls_router(lambda: directory, segment_cache_bytes=cache_mb << 20))
    config = uvicorn.Config(app, log_level="warning", loop="uvloop", http="httptools")
    uvicorn.Server(config).run(sockets=[sock])


class Http:
    """A bare HTTP/1.1 keep-alive connection: a player's one connection to the origin.

    httpx costs more CPU per request than the origin does; with 1,000 readers on a small
    machine the bench would measure its own client. This reads the status line, headers
    and a Content-Length body, which is all the HLS route sends.
    """

    def __init__(self, port: int, connect_ms: list[float]) -> None:
        self.port = port
        self.connect_ms = connect_ms  # each (re)connect's time, apart from request times
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        started = time.perf_counter()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.connect_ms.append((time.perf_counter() - started) * 1000)

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            await self.connect()
        assert self.writer is not None
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def readers(port: int, count: int, seconds: float, pace: str, conn: Connection) -> None:
    import uvloop

    playlist_ms: list[float] = []
    segment_ms: list[float] = []
    connect_ms: list[float] = []
    errors: Counter[str] = Counter()  # by kind: "http 404", "ConnectionResetError", ...

    first_ms: list[float] = []

    async def timed(http: Http, path: str, into: list[float]) -> bytes:
        fresh = http.writer is None
        started = time.perf_counter()
        status, body = await http.get(path)
        # A new connection's first answer waits for the server to accept it too: apart.
        (first_ms if fresh else into).append((time.perf_counter() - started) * 1000)
        if status != 200:
            errors[f"http {status}"] += 1
        return body

    async def burst(deadline: float) -> None:
        """Every segment of the recording back to back, 0.5 s apart (4x real time)."""
        http = Http(port, connect_ms)
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                body = await timed(http, f"/hls/{SESSION}/index.m3u8", playlist_ms)
                names = [line for line in body.decode().splitlines() if line.endswith(".m4s")]
                fresh = [n for n in names if n not in seen]
                if not fresh:
                    await asyncio.sleep(1.0)
                    seen.clear()  # loop over the recording again, as new segments would come
                    continue
                await timed(http, f"/hls/{SESSION}/{fresh[0]}", segment_ms)
                seen.add(fresh[0])
                await asyncio.sleep(0.5)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                http.close()
                await asyncio.sleep(0.5)
        http.close()

    async def live(deadline: float) -> None:
        """A player at the live edge: the playlist and one new segment per target duration
        (2 s), joining at a random moment and walking the recording as if it were live."""
        http = Http(port, connect_ms)
        await asyncio.sleep(random.uniform(0, TARGET_S))
        index = random.randrange(1000)
        while time.monotonic() < deadline:
            tick = time.monotonic()
            try:
                body = await timed(http, f"/hls/{SESSION}/index.m3u8", playlist_ms)
                names = [line for line in body.decode().splitlines() if line.endswith(".m4s")]
                await timed(http, f"/hls/{SESSION}/{names[index % len(names)]}", segment_ms)
                index += 1
            except (OSError, asyncio.IncompleteReadError, ValueError, ZeroDivisionError) as exc:
                errors[type(exc).__name__] += 1
                http.close()
            await asyncio.sleep(max(0.0, TARGET_S - (time.monotonic() - tick)))
        http.close()

    async def main() -> None:
        deadline = time.monotonic() + seconds
        reader = live if pace == "live" else burst
        await asyncio.gather(*(reader(deadline) for _ in range(count)))

    uvloop.run(main())
    conn.send((playlist_ms, segment_ms, connect_ms, first_ms, errors))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--pace",
        choices=("live", "burst"),
        default="live",
        help="live: a player at the edge (1 playlist + 1 segment / 2 s); burst: 4x real time",
    )
    parser.add_argument(
        "--segment-cache-mb", type=int, default=64, help="the route's segment cache; 0 = off"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        record(directory)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        server = context.Process(
            target=serve, args=(directory, sock, args.segment_cache_mb), daemon=True
        )
        server.start()
        _wait_listening(port)
        cpu_before = _cpu(server.pid)
        conns, procs = [], []
        share = args.readers // args.client_procs
        for _ in range(args.client_procs):
            parent, child = context.Pipe()
            proc = context.Process(
                target=readers, args=(port, share, args.seconds, args.pace, child)
            )
            proc.start()
            conns.append(parent)
            procs.append(proc)
        playlists: list[float] = []
        segments: list[float] = []
        errors: Counter[str] = Counter()
        connects: list[float] = []
        firsts: list[float] = []
        for conn in conns:
            p, s, c, f, e = conn.recv()
            playlists += p
            segments += s
            connects += c
            firsts += f
            errors.update(e)
        cpu = (_cpu(server.pid) - cpu_before) / args.seconds * 100
        for proc in procs:
            proc.join(10)
        server.terminate()
        server.join(10)
        sock.close()
    total = len(playlists) + len(segments) + len(firsts)
    print(
        f"readers={share * args.client_procs} pace={args.pace} segment cache "
        f"{args.segment_cache_mb} MiB over {args.seconds:.0f}s, load {os.getloadavg()}"
    )
    print(
        f"requests/s {total / args.seconds:.0f}  errors {sum(errors.values())} {dict(errors)}  server CPU {cpu:.0f} %"
    )
    print(
        f"playlist p50 {percentile(playlists, 50):.1f} ms p99 {percentile(playlists, 99):.1f} ms; "
        f"segment p50 {percentile(segments, 50):.1f} ms p99 {percentile(segments, 99):.1f} ms; "
        f"connect ({len(connects)}) p50 {percentile(connects, 50):.1f} ms "
        f"p99 {percentile(connects, 99):.1f} ms, first answer on it "
        f"p50 {percentile(firsts, 50):.1f} ms p99 {percentile(firsts, 99):.1f} ms (apart)"
    )
    return 0


def _wait_listening(port: int, within: float = 60.0) -> None:
    """Until the server accepts connections (its imports take seconds on a busy machine)."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _cpu(pid: int | None) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
