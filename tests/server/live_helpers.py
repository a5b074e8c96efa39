"""Helpers for live-room tests: an in-process uvicorn server and a WebSocket peer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import Api

Event = dict[str, Any]


async def wait_for(
    condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01, what: str = ""
) -> Any:
    """Poll `condition` (sync or async) until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


@dataclass
class Peer:
    """One WebSocket client that remembers every event it has read."""

    ws: ClientConnection
    seen: list[Event] = field(default_factory=list)
    _unread: list[Event] = field(default_factory=list)

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> Peer:
        kwargs.setdefault("compression", None)
        kwargs.setdefault("open_timeout", 5)
        return cls(await connect(url, **kwargs))

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message, ensure_ascii=False))

    async def next(self, timeout: float = 5.0) -> Event:
        if self._unread:
            return self._unread.pop(0)
        event: Event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(event)
        return event

    async def expect(
        self, kind: str, where: Callable[[Event], bool] = lambda e: True, timeout: float = 5.0
    ) -> Event:
        """Read until an event of `kind` matching `where`; others stay readable in `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} event within {timeout}s; seen {self.seen[-5:]}")
            try:
                event = await self.next(left)
            except TimeoutError:
                continue
            if event.get("type") == kind and where(event):
                return event

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.seen if e.get("type") == kind]

    async def hello(self, name: str, **extra: Any) -> Event:
        await self.send(type="hello", name=name, **extra)
        return await self.expect("hello")

    async def closed_with(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """Read until the server closes; (code, reason)."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                await self.next(deadline - time.monotonic())
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            return (rcvd.code, rcvd.reason) if rcvd else (None, "")
        except TimeoutError:
            pass
        raise AssertionError(f"still open after {timeout}s")

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class LiveServer:
    """A real uvicorn server on a free loopback port, running the app in this process."""

    api: Api
    port: int

    @property
    def services(self) -> Any:
        return self.api.app.state.services  # type: ignore[attr-defined]

    def ws_url(self, sid: int, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"ws://127.0.0.1:{self.port}/ws/sessions/{sid}" + (f"?{query}" if query else "")


async def add_staff(app: Any) -> dict[str, str]:
    """The coop, staff accounts and tokens the order helpers expect (as tests/conftest.py)."""
    from server.auth import hash_password
    from shop.accounts import Role

    svc = app.state.services
    coop = await svc.catalogue.create_cooperative(None, name="HTX Thử nghiệm", province="Bắc Ninh")
    await svc.catalogue.create_cooperative(None, name="HTX Khác", province="Hà Nội")
    pw = hash_password("password-123")
    tokens: dict[str, str] = {}
    for role, email, coop_id in [
        ("admin", "admin@t.vn", None),
        ("host", "host@t.vn", None),
        ("host2", "host2@t.vn", None),
        ("coop", "coop@t.vn", coop.id),
        ("moderator", "mod@t.vn", None),
    ]:
        user = await svc.accounts.add(email, pw, Role(role.rstrip("2")), cooperative_id=coop_id)
        tokens[role] = svc.tokens.issue(user)
    return tokens


@asynccontextmanager
async def live_server(
    tmp_path: Path, *, cli_options: bool = False, **overrides: Any
) -> AsyncIterator[LiveServer]:
    """create_app(settings) served by uvicorn (deflate off, as `farmlive serve`); with
    `cli_options` exactly as `farmlive serve` runs it (server/http_limits.serve_options)."""
    from server.app import create_app
    from server.settings import Settings
    from tests.conftest import TEST_HOLD_BUDGET

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/live.db",
        secret_key="test-secret-key-which-is-long-enough",
        _env_file=None,  # type: ignore[call-arg]
        **{**TEST_HOLD_BUDGET, **overrides},
    )
    app = create_app(settings)
    options: dict[str, Any] = {"access_log": False, "ws_per_message_deflate": False}
    if cli_options:
        from server.http_limits import serve_options

        options = serve_options(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with AsyncExitStack() as stack:
        try:
            await wait_for(lambda: server.started or task.done(), timeout=20, what="uvicorn")
            if task.done():
                task.result()
            port = server.servers[0].sockets[0].getsockname()[1]
            tokens = await add_staff(app)
            client = await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
            )
            yield LiveServer(Api(client=client, app=app, tokens=tokens), port)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 20)
