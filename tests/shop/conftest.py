"""Fixtures for the shop's tests: one InventoryGate per adapter, and a private redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from shop.adapters.memory_gate import MemoryGate
from shop.adapters.redis_gate import RedisGate
from shop.gate import InventoryGate
from tests.services import port_open, redis_url, services_required


async def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key a test wrote under its own prefix (never FLUSHDB a shared server)."""
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def gate(request: pytest.FixtureRequest) -> AsyncIterator[InventoryGate]:
    """Each adapter in turn; the Redis one under a fresh key prefix on the shared server."""
    if request.param == "memory":
        memory = MemoryGate()
        yield memory
        await memory.close()
        return
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}"
    redis_gate = RedisGate.from_url(url, key_prefix=prefix, max_connections=64)
    try:
        yield redis_gate
    finally:
        await redis_gate.close()
        await delete_prefix(url, prefix)


@pytest.fixture
async def redis_gate() -> AsyncIterator[RedisGate]:
    """A RedisGate on the shared server, for Redis-only checks that need no restarts."""
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}"
    gate = RedisGate.from_url(url, key_prefix=prefix)
    try:
        yield gate
    finally:
        await gate.close()
        await delete_prefix(url, prefix)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OwnRedis:
    """A redis-server this test started itself, so it may flush, kill and restart it."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart must come back empty, like a Redis that lost its data.
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.proc = subprocess.Popen(
            [self.binary, *args, "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port, timeout=0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A private redis-server on a free port, killed (by its pid) at teardown."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if services_required():
            pytest.fail(message + " and FARMLIVE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    server = OwnRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.kill()
