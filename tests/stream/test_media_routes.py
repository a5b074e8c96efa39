"""The WHIP/WHEP router on a bare FastAPI app, a real relay, and real aiortc peers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from server.cors import Cors, media_origins
from server.ice_links import IceLinks, turn_credentials
from server.routes.media import MAX_SDP_BYTES, media_router
from stream.relay import Relay
from tests.stream.peers import DecodingViewer, SyntheticPublisher, wait_for

SDP = {"Content-Type": "application/sdp"}
SESSIONS = {"s1", "s2"}
PLAYER_ORIGIN = "https://player.example"


def key(session_id: str) -> dict[str, str]:
    return {**SDP, "Authorization": f"Bearer key-{session_id}"}


async def authorize_publisher(session_id: str, token: str | None) -> bool:
    return token == f"key-{session_id}"


async def session_exists(session_id: str) -> bool:
    return session_id in SESSIONS


def app_for(relay: Relay) -> FastAPI:
    app = FastAPI()
    cors = Cors([PLAYER_ORIGIN])
    app.include_router(media_router(lambda: relay, authorize_publisher, session_exists, cors=cors))
    return app


@pytest.fixture
async def client(relay: Relay) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(relay))
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        yield client


async def whip(client: httpx.AsyncClient, session_id: str = "s1") -> SyntheticPublisher:
    publisher = await SyntheticPublisher.offer()
    response = await client.post(
        f"/whip/{session_id}", content=publisher.sdp, headers=key(session_id)
    )
    assert response.status_code == 201, response.text
    resource_id = response.headers["location"].rsplit("/", 1)[1]
    await publisher.answer(resource_id, response.text)
    return publisher


async def whep(
    client: httpx.AsyncClient, session_id: str = "s1", **options: bool
) -> tuple[DecodingViewer, httpx.Response]:
    viewer = DecodingViewer(**options)
    response = await client.post(f"/whep/{session_id}", content=await viewer.offer(), headers=SDP)
    if response.status_code == 201:
        await viewer.answer(response.headers["location"].rsplit("/", 1)[1], response.text)
    return viewer, response


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_whip_and_whep_carry_media_end_to_end(client: httpx.AsyncClient) -> None:
    """A WHIP publisher and a WHEP viewer negotiate over HTTP and the viewer decodes video."""
    publisher = await SyntheticPublisher.offer()
    response = await client.post("/whip/s1", content=publisher.sdp, headers=key("s1"))
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/sdp")
    location = response.headers["location"]
    assert location.startswith("/whip/s1/")
    await publisher.answer(location.rsplit("/", 1)[1], response.text)

    viewer, watched = await whep(client)
    assert watched.status_code == 201
    assert watched.headers["location"].startswith("/whep/s1/")
    await wait_for(lambda: viewer.frames("video") >= 10, within=10, message="decoded frames")

    assert (await client.delete(watched.headers["location"])).status_code == 200
    assert_error(await client.delete(watched.headers["location"]), 404, "not_found")
    assert (await client.delete(location, headers=key("s1"))).status_code == 200
    await viewer.close()
    await publisher.close()


async def test_whip_needs_the_stream_key(client: httpx.AsyncClient) -> None:
    """POST and DELETE on WHIP without the right bearer stream key answer 401."""
    publisher = await SyntheticPublisher.offer()
    missing = await client.post("/whip/s1", content=publisher.sdp, headers=SDP)
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.post("/whip/s1", content=publisher.sdp, headers=key("s2"))
    assert_error(wrong, 401, "unauthorized")
    await publisher.close()

    publisher = await whip(client)
    location = f"/whip/s1/{publisher.resource_id}"
    assert_error(await client.delete(location), 401, "unauthorized")
    assert_error(await client.delete(location, headers=key("s2")), 401, "unauthorized")
    assert (await client.delete(location, headers=key("s1"))).status_code == 200
    await publisher.close()


async def test_unknown_session_and_not_live(client: httpx.AsyncClient) -> None:
    """Unknown sessions answer 404 not_found; a known session with no publisher answers 404 not_live."""
    publisher = await SyntheticPublisher.offer()
    unknown = await client.post("/whip/nope", content=publisher.sdp, headers=key("nope"))
    assert_error(unknown, 404, "not_found")
    await publisher.close()

    viewer, response = await whep(client, "nope")
    assert_error(response, 404, "not_found")
    await viewer.close()
    viewer, response = await whep(client, "s2")
    assert_error(response, 404, "not_live")
    await viewer.close()


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    """Offers not sent as application/sdp answer 415."""
    for path, headers in (("/whip/s1", {"Authorization": "Bearer key-s1"}), ("/whep/s1", {})):
        response = await client.post(
            path, content="v=0", headers={**headers, "Content-Type": "text/plain"}
        )
        assert_error(response, 415, "unsupported_media_type")
        assert response.headers["accept-post"] == "application/sdp"


async def test_oversized_and_malformed_offers(client: httpx.AsyncClient) -> None:
    """Offers over 64 KB answer 413; unreadable, empty or non-UTF-8 SDP answers 400 bad_sdp."""
    too_big = "a=x\r\n" * (MAX_SDP_BYTES // 5 + 1)
    assert_error(
        await client.post("/whip/s1", content=too_big, headers=key("s1")), 413, "payload_too_large"
    )

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold while streaming too.
        for _ in range(20):
            yield b"a" * 4096

    streamed = await client.post("/whep/s1", content=chunks(), headers=SDP)
    assert_error(streamed, 413, "payload_too_large")
    for body in (b"", b"\xff\xfe", b"hello"):
        response = await client.post("/whip/s1", content=body, headers=key("s1"))
        assert_error(response, 400, "bad_sdp")


async def test_trickle_ice_is_refused_with_405(client: httpx.AsyncClient) -> None:
    """PATCH on a WHIP or WHEP resource answers 405: candidates must all be in the offer."""
    for path in ("/whip/s1/abc", "/whep/s1/abc"):
        response = await client.patch(
            path,
            content="a=candidate:1",
            headers={"Content-Type": "application/trickle-ice-sdpfrag"},
        )
        assert_error(response, 405, "method_not_allowed")


async def test_options_advertises_sdp(client: httpx.AsyncClient) -> None:
    """OPTIONS on the endpoints tells clients to POST application/sdp."""
    for path in ("/whip/s1", "/whep/s1"):
        response = await client.options(path)
        assert response.status_code == 204
        assert response.headers["accept-post"] == "application/sdp"


async def test_full_relay_answers_503_with_retry_after() -> None:
    """When the relay is full, WHEP answers 503 relay_full with a Retry-After header."""
    relay = Relay(max_viewers=1, full_retry_after=12)
    await relay.start()
    transport = httpx.ASGITransport(app=app_for(relay))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
            publisher = await whip(client)
            first, ok = await whep(client)
            assert ok.status_code == 201
            await wait_for(lambda: relay.admission.connected == 1, within=10, message="a slot")
            second, full = await whep(client)
            assert_error(full, 503, "relay_full")
            assert full.headers["retry-after"] == "12"
            for peer in (first, second, publisher):
                await peer.close()
    finally:
        await relay.stop()


async def test_stopped_relay_answers_503(relay: Relay, client: httpx.AsyncClient) -> None:
    """Requests reaching a relay that is not running answer 503, not 500."""
    await relay.stop()
    viewer, response = await whep(client)
    assert_error(response, 503, "unavailable")
    await viewer.close()


async def test_whep_player_on_another_origin_plays(client: httpx.AsyncClient) -> None:
    """An allowed origin gets its preflight and reads Location and Link; its player decodes video."""
    publisher = await whip(client)
    preflight = await client.options(
        "/whep/s1",
        headers={
            "Origin": PLAYER_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == PLAYER_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()

    viewer = DecodingViewer()
    headers = {**SDP, "Origin": PLAYER_ORIGIN}
    response = await client.post("/whep/s1", content=await viewer.offer(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == PLAYER_ORIGIN
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"location", "link"} <= exposed
    assert "origin" in response.headers["vary"].lower()
    location = response.headers["location"]
    await viewer.answer(location.rsplit("/", 1)[1], response.text)
    await wait_for(lambda: viewer.frames("video") >= 10, within=15, message="decoded frames")

    resource_preflight = await client.options(
        location, headers={"Origin": PLAYER_ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert "DELETE" in resource_preflight.headers["access-control-allow-methods"]
    deleted = await client.delete(location, headers={"Origin": PLAYER_ORIGIN})
    assert deleted.headers["access-control-allow-origin"] == PLAYER_ORIGIN
    await viewer.close()
    await publisher.close()


async def test_other_origins_get_no_cors_grant(client: httpx.AsyncClient) -> None:
    """A preflight or an error answer for an unlisted origin carries no Allow-Origin."""
    preflight = await client.options(
        "/whep/s1",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-methods" not in preflight.headers
    refused = await client.post("/whep/s2", content="v=0", headers={**SDP, "Origin": PLAYER_ORIGIN})
    assert refused.status_code == 404
    # The allowed origin can read the error too, so its player can say why.
    assert refused.headers["access-control-allow-origin"] == PLAYER_ORIGIN


def test_media_origins_default_to_the_public_url() -> None:
    """With no FARMLIVE_ALLOWED_ORIGINS, the public URL's origin is the one allowed."""
    assert media_origins([], "https://farm.example/shop/") == {"https://farm.example"}
    assert media_origins(["https://a.example/"], None) == {"https://a.example"}
    assert Cors(["*"]).allowed("https://anyone.example")
    assert not Cors(media_origins([], None)).allowed("https://anyone.example")


async def test_answers_carry_ice_server_links_with_coturn_credentials(relay: Relay) -> None:
    """WHIP and WHEP 201s list every ICE server as a Link; TURN gets coturn REST credentials."""
    links = IceLinks(
        [{"urls": "stun:stun.farm.example:3478"}],
        turn_urls=["turn:turn.farm.example:3478?transport=udp", "turns:turn.farm.example:5349"],
        turn_secret="coturn-secret",
        ttl=600,
        clock=lambda: 1_700_000_000.0,
    )
    app = FastAPI()
    app.include_router(
        media_router(lambda: relay, authorize_publisher, session_exists, ice_links=links)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        publisher = await SyntheticPublisher.offer()
        published = await client.post("/whip/s1", content=publisher.sdp, headers=key("s1"))
        await publisher.answer(published.headers["location"].rsplit("/", 1)[1], published.text)
        viewer, watched = await whep(client)
        for response in (published, watched):
            assert response.status_code == 201
            values = response.headers.get_list("link")
            assert values[0] == '<stun:stun.farm.example:3478>; rel="ice-server"'
            assert len(values) == 3
            for value in values[1:]:
                assert value.startswith("<turn")
                params = dict(
                    part.strip().split("=", 1) for part in value.split(";")[1:] if "=" in part
                )
                username = params["username"].strip('"')
                assert username == "1700000600:s1"
                expected = base64.b64encode(
                    hmac.new(b"coturn-secret", username.encode(), hashlib.sha1).digest()
                ).decode()
                assert params["credential"].strip('"') == expected
                assert params["credential-type"] == '"password"'
                assert params["rel"] == '"ice-server"'
        await viewer.close()
        await publisher.close()


def test_turn_credentials_follow_coturn_rest_scheme() -> None:
    """username is expiry:name and the credential is base64 HMAC-SHA1 of it under the secret."""
    username, credential = turn_credentials("north", "42", ttl=3600, now=1000.5)
    assert username == "4600:42"
    # Computed with: printf '4600:42' | openssl dgst -sha1 -hmac north -binary | base64
    assert credential == "oPo3heJpSen6GAxPfLcavej44/Y="
    with pytest.raises(ValueError):
        IceLinks(turn_urls=["turn:x:3478"])


async def test_a_flood_from_one_address_does_not_keep_another_out() -> None:
    """Bare WHEP POSTs of a stale offer from one address hit 429; a viewer elsewhere plays."""
    relay = Relay(max_viewers=3)
    await relay.start()
    app = app_for(relay)
    flood_transport = httpx.ASGITransport(app=app, client=("203.0.113.66", 40000))
    viewer_transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40001))
    try:
        async with (
            httpx.AsyncClient(transport=flood_transport, base_url="http://relay.test") as flood,
            httpx.AsyncClient(transport=viewer_transport, base_url="http://relay.test") as client,
        ):
            publisher = await whip(client)
            stale = DecodingViewer()
            offer = await stale.offer()
            answers = [await flood.post("/whep/s1", content=offer, headers=SDP) for _ in range(12)]
            codes = [a.status_code for a in answers]
            assert codes[:4] == [201] * 4
            assert set(codes[4:]) == {429}
            assert_error(answers[-1], 429, "rate_limited")
            assert int(answers[-1].headers["retry-after"]) >= 1

            viewer, response = await whep(client)
            assert response.status_code == 201, response.text
            await wait_for(lambda: viewer.frames("video") >= 10, within=15, message="frames")
            for peer in (stale, viewer, publisher):
                await peer.close()
    finally:
        await relay.stop()


async def test_second_publisher_needs_takeover(client: httpx.AsyncClient, relay: Relay) -> None:
    """A second WHIP POST while live answers 409 publisher_active; ?takeover=1 swaps once media flows."""
    first = await whip(client)
    await wait_for(lambda: relay.stats().get("s1", {}).get("status") == "live", within=10)
    second = await SyntheticPublisher.offer()
    refused = await client.post("/whip/s1", content=second.sdp, headers=key("s1"))
    assert_error(refused, 409, "publisher_active")
    taken = await client.post("/whip/s1?takeover=1", content=second.sdp, headers=key("s1"))
    assert taken.status_code == 201, taken.text
    resource_id = taken.headers["location"].rsplit("/", 1)[1]
    await second.answer(resource_id, taken.text)
    room = relay.room("s1")
    assert room is not None
    await wait_for(
        lambda: room.publisher is not None and room.publisher.resource_id == resource_id,
        within=10,
        message="the takeover",
    )
    for peer in (first, second):
        await peer.close()
