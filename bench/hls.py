"""HLS origin bench: N concurrent readers of one session's playlist and segments, one process.

    .venv/bin/python bench/hls.py [--readers 1000] [--seconds 15] [--client-procs 2]

The server is the real HLS route (`server/routes/hls.py`) under uvicorn (uvloop, httptools,
as `farmlive serve` runs), serving a recording made by the relay's own `HlsRecorder` from a
synthetic 640x360 H.264 stream (2 s segments). Each reader loops as a player does: fetch
the playlist, then the newest segment it has not fetched, and sleeps a second when it has
them all (players refresh the playlist about once a target duration). Printed: requests/s,
playlist and segment latency p50/p99, errors, server CPU. Loopback only, stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SESSION = "1"


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


def serve(directory: Path, sock: socket.socket) -> None:
    import uvicorn
    from fastapi import FastAPI

    from server.routes.hls import hls_router

    app = FastAPI()
    app.include_router(hls_router(lambda: directory))
    config = uvicorn.Config(app, log_level="warning", loop="uvloop", http="httptools")
    uvicorn.Server(config).run(sockets=[sock])


def readers(port: int, count: int, seconds: float, conn: Connection) -> None:
    import httpx

    playlist_ms: list[float] = []
    segment_ms: list[float] = []
    errors = 0

    async def reader(client: httpx.AsyncClient, deadline: float) -> None:
        nonlocal errors
        seen: set[str] = set()
        while time.monotonic() < deadline:
            try:
                started = time.perf_counter()
                response = await client.get(f"/hls/{SESSION}/index.m3u8")
                playlist_ms.append((time.perf_counter() - started) * 1000)
                names = [line for line in response.text.splitlines() if line.endswith(".m4s")]
                fresh = [n for n in names if n not in seen]
                if not fresh:
                    await asyncio.sleep(1.0)
                    seen.clear()  # loop over the recording again, as new segments would come
                    continue
                started = time.perf_counter()
                segment = await client.get(f"/hls/{SESSION}/{fresh[0]}")
                segment_ms.append((time.perf_counter() - started) * 1000)
                if segment.status_code != 200:
                    errors += 1
                seen.add(fresh[0])
                await asyncio.sleep(0.5)
            except httpx.HTTPError:
                errors += 1
                await asyncio.sleep(0.5)

    async def main() -> None:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
        ) as client:
            deadline = time.monotonic() + seconds
            await asyncio.gather(*(reader(client, deadline) for _ in range(count)))

    asyncio.run(main())
    conn.send((playlist_ms, segment_ms, errors))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--client-procs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        record(directory)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        server = context.Process(target=serve, args=(directory, sock), daemon=True)
        server.start()
        time.sleep(2.0)
        cpu_before = _cpu(server.pid)
        conns, procs = [], []
        share = args.readers // args.client_procs
        for _ in range(args.client_procs):
            parent, child = context.Pipe()
            proc = context.Process(target=readers, args=(port, share, args.seconds, child))
            proc.start()
            conns.append(parent)
            procs.append(proc)
        playlists: list[float] = []
        segments: list[float] = []
        errors = 0
        for conn in conns:
            p, s, e = conn.recv()
            playlists += p
            segments += s
            errors += e
        cpu = (_cpu(server.pid) - cpu_before) / args.seconds * 100
        for proc in procs:
            proc.join(10)
        server.terminate()
        server.join(10)
        sock.close()
    total = len(playlists) + len(segments)
    print(f"readers={share * args.client_procs} over {args.seconds:.0f}s, load {os.getloadavg()}")
    print(f"requests/s {total / args.seconds:.0f}  errors {errors}  server CPU {cpu:.0f} %")
    print(
        f"playlist p50 {percentile(playlists, 50):.1f} ms p99 {percentile(playlists, 99):.1f} ms; "
        f"segment p50 {percentile(segments, 50):.1f} ms p99 {percentile(segments, 99):.1f} ms"
    )
    return 0


def _cpu(pid: int | None) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
