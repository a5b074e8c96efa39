"""The relay inside `farmlive serve`: WHIP with the session's stream key, WHEP, status events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import websockets

from tests.e2e.procs import Server, farmlive_env, free_port
from tests.e2e.shop_client import token
from tests.stream.peers import DecodingViewer, SyntheticPublisher, wait_for

SDP = {"Content-Type": "application/sdp"}


async def next_status(ws: websockets.ClientConnection, wanted: str, within: float = 10) -> dict:
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await ws.recv())
            if event.get("type") == "status" and event.get("status") == wanted:
                return event


def test_publish_and_watch_through_farmlive_serve(tmp_path: Path) -> None:
    """A synthetic camera publishes with the stream key; a viewer decodes it; leaving pauses the room."""
    with Server(tmp_path, farmlive_env(), ("--demo",)) as server:
        host = token(server.url, "host@farmlive.local")
        sid = httpx.get(f"{server.url}/api/sessions").json()[0]["id"]
        staff = httpx.get(f"{server.url}/api/sessions/{sid}/staff", headers=host).json()
        assert staff["whip_url"].endswith(f"/whip/{sid}")

        async def scenario() -> None:
            async with (
                httpx.AsyncClient(base_url=server.url, timeout=20) as client,
                websockets.connect(f"ws://127.0.0.1:{server.port}/ws/sessions/{sid}") as ws,
            ):
                publisher = await SyntheticPublisher.offer()
                wrong = await client.post(
                    f"/whip/{sid}",
                    content=publisher.sdp,
                    headers={**SDP, "Authorization": "Bearer nope"},
                )
                assert wrong.status_code == 401 and wrong.json()["error"]["code"]
                unknown = await client.post(
                    "/whip/999999",
                    content=publisher.sdp,
                    headers={**SDP, "Authorization": "Bearer x"},
                )
                assert unknown.status_code in (401, 404)
                location = await publisher.publish(client, f"/whip/{sid}", staff["stream_key"])
                await next_status(ws, "live")
                viewer = DecodingViewer()
                watched = await client.post(
                    f"/whep/{sid}", content=await viewer.offer(), headers=SDP
                )
                assert watched.status_code == 201, watched.text
                await viewer.answer(watched.headers["location"].rsplit("/", 1)[-1], watched.text)
                await wait_for(
                    lambda: viewer.frames("video") >= 30, within=15, message="30 decoded frames"
                )
                assert viewer.received["video"].sizes == {(640, 360)}
                gone = await client.delete(
                    location, headers={"Authorization": f"Bearer {staff['stream_key']}"}
                )
                assert gone.status_code in (200, 204)
                await next_status(ws, "paused")
                await viewer.close()
                await publisher.close()

        asyncio.run(scenario())


def test_separate_relay_process_reports_status_through_redis(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    """`farmlive relay` takes WHIP/WHEP itself; viewers of the app instance see live/paused via Redis."""
    redis_url, prefix = redis_prefix
    env = farmlive_env(
        FARMLIVE_DATABASE_URL=pg_database,
        FARMLIVE_REDIS_URL=redis_url,
        FARMLIVE_REDIS_PREFIX=prefix,
        FARMLIVE_SECRET_KEY="relay-test-secret",
    )
    with Server(tmp_path, env, ("--demo",)) as app, Server(tmp_path, env, command="relay") as relay:
        host = token(app.url, "host@farmlive.local")
        sid = httpx.get(f"{app.url}/api/sessions").json()[0]["id"]
        key = httpx.get(f"{app.url}/api/sessions/{sid}/staff", headers=host).json()["stream_key"]

        async def scenario() -> None:
            async with (
                httpx.AsyncClient(base_url=relay.url, timeout=20) as client,
                websockets.connect(f"ws://127.0.0.1:{app.port}/ws/sessions/{sid}") as ws,
            ):
                publisher = await SyntheticPublisher.offer()
                published = await client.post(
                    f"/whip/{sid}",
                    content=publisher.sdp,
                    headers={**SDP, "Authorization": f"Bearer {key}"},
                )
                assert published.status_code == 201, published.text
                await publisher.answer(
                    published.headers["location"].rsplit("/", 1)[-1], published.text
                )
                await next_status(ws, "live")
                viewer = DecodingViewer(video=False)
                watched = await client.post(
                    f"/whep/{sid}", content=await viewer.offer(), headers=SDP
                )
                assert watched.status_code == 201
                await viewer.answer(watched.headers["location"].rsplit("/", 1)[-1], watched.text)
                await wait_for(
                    lambda: viewer.frames("audio") >= 20, within=15, message="audio frames"
                )
                await publisher.close()
                await next_status(ws, "paused", within=20)
                await viewer.close()

        asyncio.run(scenario())


def test_a_viewer_through_instance_b_plays_a_stream_published_through_a(
    tmp_path: Path, pg_database: str, redis_prefix: tuple[str, str]
) -> None:
    """Two `farmlive serve` on Redis: B answers WHEP (and DELETE) with 307 to A, which holds the relay."""
    redis_url, prefix = redis_prefix
    port_a, port_b = free_port(), free_port()

    def env(port: int) -> dict[str, str]:
        return farmlive_env(
            FARMLIVE_DATABASE_URL=pg_database,
            FARMLIVE_REDIS_URL=redis_url,
            FARMLIVE_REDIS_PREFIX=prefix,
            FARMLIVE_SECRET_KEY="two-instances-secret",
            FARMLIVE_RELAY_URL=f"http://127.0.0.1:{port}",
        )

    with (
        Server(tmp_path, env(port_a), ("--demo",), port=port_a) as a,
        Server(tmp_path, env(port_b), port=port_b) as b,
    ):
        host = token(a.url, "host@farmlive.local")
        sid = httpx.get(f"{a.url}/api/sessions").json()[0]["id"]
        key = httpx.get(f"{a.url}/api/sessions/{sid}/staff", headers=host).json()["stream_key"]
        bearer = {**SDP, "Authorization": f"Bearer {key}"}

        async def scenario() -> None:
            async with httpx.AsyncClient(timeout=20) as client:
                publisher = await SyntheticPublisher.offer()
                published = await client.post(
                    f"{a.url}/whip/{sid}", content=publisher.sdp, headers=bearer
                )
                assert published.status_code == 201, published.text
                assert published.headers["location"].startswith(f"{a.url}/whip/{sid}/")
                await publisher.answer(
                    published.headers["location"].rsplit("/", 1)[-1], published.text
                )
                # A second publisher sent to B is sent to A too (and refused there: A is live).
                other = await SyntheticPublisher.offer()
                moved = await client.post(f"{b.url}/whip/{sid}", content=other.sdp, headers=bearer)
                assert moved.status_code == 307
                assert moved.headers["location"] == f"{a.url}/whip/{sid}"
                await other.close()

                viewer = DecodingViewer()
                offer = await viewer.offer()
                redirected = await client.post(f"{b.url}/whep/{sid}", content=offer, headers=SDP)
                assert redirected.status_code == 307, redirected.text
                assert redirected.headers["location"] == f"{a.url}/whep/{sid}"
                watched = await client.post(
                    f"{b.url}/whep/{sid}", content=offer, headers=SDP, follow_redirects=True
                )
                assert watched.status_code == 201, watched.text
                location = watched.headers["location"]
                assert location.startswith(f"{a.url}/whep/{sid}/")
                await viewer.answer(location.rsplit("/", 1)[-1], watched.text)
                await wait_for(
                    lambda: viewer.frames("video") >= 20, within=20, message="frames through B"
                )
                resource = location.removeprefix(a.url)
                gone = await client.delete(f"{b.url}{resource}", follow_redirects=True)
                assert gone.status_code == 200
                await viewer.close()
                await publisher.close()

        asyncio.run(scenario())
