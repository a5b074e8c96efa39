"""Database outages answer 503 `unavailable` with Retry-After and recover by themselves.

The app reaches the shared PostgreSQL through a TCP proxy this test owns: cutting the
proxy (every open connection reset, new ones refused) is the outage, without touching
the shared server. Also: ids out of range in a path are 404 on every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests import services
from tests.conftest import Api, _pg_exec
from tests.server.live_helpers import wait_for
from tests.server.orders_helpers import key, live_session, order_body


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL until `cut`, and again after `restore`."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """New connections are refused and every open one is reset."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(services.PG_HOST, services.PG_PORT)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


@pytest.fixture
def pg_name(pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database, copied from the session's template."""
    name = f"fl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield name
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    """The proxy, listening on a free loopback port."""
    found = CuttableProxy()
    await found.restore()
    yield found
    if found._server is not None:
        await found.cut()


@pytest.fixture
def database_url(pg_name: str, proxy: CuttableProxy) -> str:
    """This module's app talks to PostgreSQL only through the proxy."""
    return f"postgresql+asyncpg://{services.PG_USER}@127.0.0.1:{proxy.port}/{pg_name}"


def assert_unavailable(response, what: str) -> None:  # type: ignore[no-untyped-def]
    """503, the contract's `unavailable` error, and a Retry-After to come back after."""
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.json()["error"]["code"] == "unavailable", (what, response.text)
    assert int(response.headers["retry-after"]) >= 1, what


async def test_an_outage_under_load_is_503_with_retry_after_then_recovers(
    api: Api, proxy: CuttableProxy
) -> None:
    """Finding 7: orders, reads and staff actions during an outage are 503s, never 500s."""
    s = await live_session(api)
    sid = s["sid"]
    placed = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(s["offers"]["VL2"]), headers=key()
    )
    assert placed.status_code == 201
    order_id = placed.json()["id"]
    await proxy.cut()

    orders = [
        api.client.post(
            f"/api/sessions/{sid}/orders",
            json=order_body(s["offers"]["VL2"], phone=f"09123{i:05d}"),
            headers=key(),
        )
        for i in range(20)
    ]
    reads = [api.client.get(f"/api/sessions/{sid}/stats") for _ in range(5)]
    reads.append(api.client.get(f"/api/lots/{s['lot_id']}"))
    staff = [
        api.client.post(f"/api/orders/{order_id}/confirm", headers=api.auth("admin")),
        api.client.get(f"/api/cooperatives/{s['coop_id']}/orders.csv", headers=api.auth("admin")),
        api.client.post(
            f"/api/sessions/{sid}/pin",
            json={"offer_id": s["offers"]["VL5"]},
            headers=api.auth("admin"),
        ),
    ]
    answers = await asyncio.gather(*orders, *reads, *staff)
    for i, response in enumerate(answers):
        assert_unavailable(response, f"request {i}")

    await proxy.restore()

    async def recovered() -> bool:
        r = await api.client.get(f"/api/sessions/{sid}/stats")
        return r.status_code == 200

    await wait_for(recovered, timeout=30, interval=0.2, what="reads after the outage")
    again = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(s["offers"]["VL5"]), headers=key()
    )
    assert again.status_code == 201, again.text
    confirmed = await api.client.post(f"/api/orders/{order_id}/confirm", headers=api.auth("admin"))
    assert confirmed.status_code == 200, confirmed.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/whep/²"),
        ("POST", "/whep/2147483648"),
        ("POST", "/whep/99999999999"),
        ("POST", "/whip/2147483648"),
        ("GET", "/api/sessions/2147483648"),
        ("GET", "/api/sessions/0"),
        ("GET", "/api/sessions/²"),
        ("GET", "/api/sessions/2147483648/stats"),
        ("GET", "/api/lots/9223372036854775808"),
        ("POST", "/api/sessions/2147483648/orders"),
        ("GET", "/live/2147483648000000000000"),
    ],
)
async def test_ids_out_of_range_are_404_on_every_route(api: Api, method: str, path: str) -> None:
    """Finding 7: an id PostgreSQL's integer cannot hold (or not a number) is 404, not 500."""
    headers = {"Content-Type": "application/sdp", **key()}
    r = await api.client.request(method, path, content=b"v=0\r\n", headers=headers)
    assert r.status_code == 404, (path, r.status_code, r.text)
    assert r.json()["error"]["code"] in ("not_found", "no_such_session"), r.text
