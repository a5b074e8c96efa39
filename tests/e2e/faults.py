"""Fault helpers: a redis-server the test owns (AOF on, its own port), and invariant checks."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shop.adapters.redis_gate import RedisGate
from tests.e2e.procs import free_port
from tests.services import port_open, services_required


class OwnRedis:
    """A redis-server with AOF on in `data_dir`; killed and restarted by its own pid."""

    def __init__(self, data_dir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if services_required():
                pytest.fail(
                    "redis-server is not installed and FARMLIVE_REQUIRE_SERVICES=1", pytrace=False
                )
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.data_dir),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port, timeout=0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown save, like a crash
            self.proc.wait(10)

    def flushall(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "FLUSHALL"], check=True, capture_output=True
        )


async def gate_state(redis_url: str, prefix: str, lot_id: int) -> tuple[int, int, int]:
    gate = RedisGate.from_url(redis_url, key_prefix=prefix)
    try:
        s = await gate.snapshot(lot_id)
        return s.stock_grams, s.sold_grams, s.held_grams
    finally:
        await gate.close()


def lot_stats(url: str, sid: int, lot_id: int) -> dict[str, Any]:
    stats = httpx.get(f"{url}/api/sessions/{sid}/stats", timeout=10).json()
    return next(lot for lot in stats["lots"] if lot["id"] == lot_id)


def wait_until(check: Any, timeout: float, interval: float = 0.2) -> Any:
    """Poll `check()` until it returns a truthy value; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the thing may be restarting
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s: {last!r}")
