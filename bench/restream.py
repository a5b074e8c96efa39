"""Restream benchmark: the relay's CPU per RTMP destination, against a real nginx-rtmp.

`bench/relay.py --destinations 0,1,2` runs this. Processes, all on loopback:

- nginx-rtmp (Debian's, `tests/rtmp_server.py`), the destinations' platform;
- relay: `stream.Relay` in a process of its own that reports its CPU time (`os.times()`,
  every thread: the destinations' muxer threads included);
- publisher: an aiortc peer sending ~1 Mbit/s H.264 (libx264, grain so it cannot
  squeeze below the rate) and Opus, in another process so its encoder is not counted.

For each N the relay restreams to N destinations (`rtmp://127.0.0.1:port/app/benchK`);
after a warm-up the relay's CPU is sampled for `--seconds`. The judged ratio is
(CPU at N - CPU at 0) / N: what a destination costs on average (its FLV muxing and
socket, plus its share of the room's one Opus -> AAC transcode, `stream.aac`), target
<= 3 % of one core. The table also shows each added destination's own cost (N - (N-1)).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import subprocess
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

SESSION = "bench"
TARGET_PERCENT = 3.0


def _relay_main(control: Connection, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_relay(control))


async def _relay(control: Connection) -> None:
    from stream.relay import Relay
    from stream.restream import Target

    relay = Relay([])
    await relay.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            op, value = await loop.run_in_executor(None, control.recv)
            if op == "publish":
                resource, answer = await relay.publish(SESSION, value)
                control.send((resource, answer))
            elif op == "destinations":
                relay.set_restream(
                    SESSION, [Target(url, f"bench #{i}") for i, url in enumerate(value)]
                )
                control.send(None)
            elif op == "cpu":
                times = os.times()
                control.send((times.user + times.system, time.monotonic()))
            elif op == "stats":
                stats = relay.stats().get(SESSION, {})
                states = relay.restream_states(SESSION)
                control.send(
                    {
                        "restream": stats.get("restream", []),
                        "states": states,
                        "frames_in": stats.get("frames_in"),
                    }
                )
            elif op == "quit":
                break
    finally:
        await relay.stop()
        control.send("stopped")


def _publisher_main(control: Connection, bitrate: int, relay_cpu: int | None) -> None:
    if relay_cpu is not None:
        others = os.sched_getaffinity(0) - {relay_cpu}
        if others:
            os.sched_setaffinity(0, others)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_publisher(control, bitrate))


async def _publisher(control: Connection, bitrate: int) -> None:
    import aiortc.codecs.h264 as h264
    from aiortc import (
        RTCConfiguration,
        RTCPeerConnection,
        RTCRtpSender,
        RTCSessionDescription,
    )
    from aiortc.mediastreams import AudioStreamTrack

    from bench.relay import synthetic_camera

    # Hold the publisher at the target rate whatever the relay's REMB says.
    h264.DEFAULT_BITRATE = h264.MIN_BITRATE = h264.MAX_BITRATE = bitrate

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    video = pc.addTransceiver(synthetic_camera(), direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    video.setCodecPreferences(
        [c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")]
    )
    await pc.setLocalDescription(await pc.createOffer())
    control.send(pc.localDescription.sdp)
    answer = await asyncio.get_running_loop().run_in_executor(None, control.recv)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.get_running_loop().run_in_executor(None, control.recv)  # any message: stop
    await pc.close()


def _ask(conn: Connection, message: Any, timeout: float = 60.0) -> Any:
    conn.send(message)
    if not conn.poll(timeout):
        raise TimeoutError(f"no answer to {message[0]!r}")
    return conn.recv()


def _cpu_percent(relay: Connection, seconds: float) -> float:
    cpu0, wall0 = _ask(relay, ("cpu", None))
    time.sleep(seconds)
    cpu1, wall1 = _ask(relay, ("cpu", None))
    return 100 * (cpu1 - cpu0) / (wall1 - wall0)


def run_restream(args: argparse.Namespace) -> int:
    from tests.rtmp_server import rtmp_available, rtmp_server

    problem = rtmp_available()
    if problem:
        print(problem)
        return 2
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as root, rtmp_server(Path(root) / "nginx") as nginx:
        relay_conn, relay_child = context.Pipe()
        relay = context.Process(target=_relay_main, args=(relay_child, args.relay_cpu), daemon=True)
        pub_conn, pub_child = context.Pipe()
        publisher = context.Process(
            target=_publisher_main, args=(pub_child, args.bitrate, args.relay_cpu), daemon=True
        )
        relay.start()
        publisher.start()
        rows: list[dict[str, Any]] = []
        try:
            offer = pub_conn.recv()
            _resource, answer = _ask(relay_conn, ("publish", offer))
            pub_conn.send(answer)
            time.sleep(args.warmup)
            for n in args.destinations:
                urls = [nginx.url(f"bench{i}") for i in range(n)]
                _ask(relay_conn, ("destinations", urls))
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    states = _ask(relay_conn, ("stats", None))["states"]
                    if all(states.get(url, ("",))[0] == "live" for url in urls):
                        break
                    time.sleep(0.2)
                time.sleep(args.warmup)
                before = _ask(relay_conn, ("stats", None))
                cpu = _cpu_percent(relay_conn, args.seconds)
                after = _ask(relay_conn, ("stats", None))
                sent = [
                    (b["frames_sent"] - a["frames_sent"]) / args.seconds
                    for a, b in zip(before["restream"], after["restream"], strict=False)
                ]
                kbits = [
                    8 * (b["bytes_sent"] - a["bytes_sent"]) / args.seconds / 1000
                    for a, b in zip(before["restream"], after["restream"], strict=False)
                ]
                live = sum(1 for url in urls if after["states"].get(url, ("",))[0] == "live")
                dropped = sum(d["dropped"] for d in after["restream"])
                rows.append(
                    {
                        "n": n,
                        "cpu": cpu,
                        "live": live,
                        "fps": sent,
                        "kbits": kbits,
                        "dropped": dropped,
                    }
                )
        finally:
            pub_conn.send("stop")
            relay_conn.send(("quit", None))
            for process in (publisher, relay):
                process.join(10)
                if process.is_alive():
                    process.kill()
    _print(args, rows)
    return 0


def _print(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(
        f"restream bench: {args.bitrate / 1e6:g} Mbit/s H.264 + Opus publisher, {args.seconds:g} s per N"
    )
    print(f"uptime: {load}")
    print(
        f"{'N':>3} {'relay CPU %':>12} {'per dest %':>11} {'added %':>8} {'live':>5} "
        f"{'frames/s each':>16} "
        f"{'kbit/s each':>16} {'dropped':>8}"
    )
    base = next((r["cpu"] for r in rows if r["n"] == 0), None)
    worst = 0.0
    previous: dict[str, Any] | None = None
    for row in rows:
        added = "-"
        if previous is not None and row["n"] > previous["n"]:
            added = f"{(row['cpu'] - previous['cpu']) / (row['n'] - previous['n']):.2f}"
        previous = row
        per = "-"
        if base is not None and row["n"] > 0:
            value = (row["cpu"] - base) / row["n"]
            worst = max(worst, value)
            per = f"{value:.2f}"
        fps = ",".join(f"{f:.0f}" for f in row["fps"]) or "-"
        print(
            f"{row['n']:>3} {row['cpu']:>12.2f} {per:>11} {added:>8} {row['live']:>5} {fps:>16} "
            f"{','.join(f'{k:.0f}' for k in row['kbits']) or '-':>16} {row['dropped']:>8}"
        )
    if base is not None:
        verdict = "meets" if worst <= TARGET_PERCENT else "misses"
        print(
            f"judged ratio: relay CPU per destination (over N=0) = {worst:.2f} % of a core "
            f"at worst -> {verdict} the {TARGET_PERCENT:g} % target"
        )
