"""The placing lane (server/placing_lane.py) answers exactly as the plain FastAPI route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import server.placing_lane as lane_module
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body
from tests.server.test_abuse import set_limits, tiny

# Differ per request by design: the request id, the date, the length of a different body.
VOLATILE = {"x-request-id", "date", "content-length"}


def shape(value: Any) -> Any:
    """The JSON's keys and value types, recursively (ids and tokens differ per order)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The response's headers, less the volatile ones; a device cookie less its value."""
    kept = []
    for name, value in response.headers.multi_items():
        if name in VOLATILE:
            continue
        if name == "set-cookie":
            cookie_name, _, rest = value.partition("=")
            value = cookie_name + "=<id>" + rest[rest.index(";") :]
        kept.append((name, value))
    return sorted(kept)


@pytest.fixture
async def plain(api: Api) -> httpx.AsyncClient:
    """A client on the same app and services with the lane left out of its stack."""
    api.app.placing_lane = False
    stack = api.app.build_middleware_stack()
    api.app.placing_lane = True

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = api.app  # what Starlette's __call__ does before its stack
        await stack(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The session ids of the requests the lane placed itself (not handed to the router)."""
    seen: list[int] = []
    original = lane_module.place

    async def counting(request: Any, body: Any, sid: int, idempotency_key: str) -> Any:
        seen.append(sid)
        return await original(request, body, sid, idempotency_key)

    monkeypatch.setattr(lane_module, "place", counting)
    return seen


async def both(
    api: Api, plain: httpx.AsyncClient, path: str, body: Any, **kwargs: Any
) -> tuple[httpx.Response, httpx.Response]:
    lane = await api.client.post(path, json=body, headers=key(), **kwargs)
    direct = await plain.post(path, json=body, headers=key(), **kwargs)
    return lane, direct


def assert_same(lane: httpx.Response, direct: httpx.Response, status: int) -> None:
    assert (lane.status_code, direct.status_code) == (status, status), (lane.text, direct.text)
    assert headers(lane) == headers(direct)
    assert shape(lane.json()) == shape(direct.json())
    if status >= 400:
        assert lane.json() == direct.json()  # the error JSON, word for word


async def test_lane_and_route_agree(api: Api, plain: httpx.AsyncClient, taken: list[int]) -> None:
    """A good order, a bad body, a missing session, a sold-out offer and a rate limit: the
    lane and the plain route give the same status, headers and JSON."""
    s = await live_session(api, stock_grams=10_000)
    sid, vl5 = s["sid"], s["offers"]["VL5"]
    path = f"/api/sessions/{sid}/orders"

    lane, direct = await both(api, plain, path, order_body(vl5))
    assert_same(lane, direct, 201)
    assert "set-cookie" in lane.headers  # a first order hands out the device cookie
    fields = ("status", "quantity", "grams", "total", "currency", "session_id", "buyer")
    assert [lane.json()[f] for f in fields] == [direct.json()[f] for f in fields]
    assert taken == [sid]

    lane, direct = await both(api, plain, path, {**order_body(vl5), "quantity": "2"})
    assert_same(lane, direct, 422)
    lane, direct = await both(api, plain, path, {"offer_id": vl5})
    assert_same(lane, direct, 422)
    assert taken == [sid]  # bad bodies go to FastAPI, which names the fields

    lane, direct = await both(api, plain, "/api/sessions/999999/orders", order_body(vl5))
    assert_same(lane, direct, 404)
    lane, direct = await both(api, plain, "/api/sessions/0/orders", order_body(vl5))
    assert_same(lane, direct, 404)

    bad_id = await api.client.post(
        "/api/sessions/2147483648/orders", content=b"v=0", headers={"Content-Type": "text/plain"}
    )
    assert bad_id.status_code == 404, bad_id.text  # the id first, whatever the body

    lane, direct = await both(api, plain, path, order_body(vl5))
    assert_same(lane, direct, 409)  # the two 5 kg boxes of the 10 kg lot are sold

    set_limits(api.app, orders_ip=tiny(api.app.state.services.abuse.limits.orders_ip, 1))
    spent = await api.client.post(path, json=order_body(vl5), headers=key())
    assert spent.status_code == 409  # the one token left is spent
    lane, direct = await both(api, plain, path, order_body(vl5))
    assert_same(lane, direct, 429)
    assert lane.headers["retry-after"] == direct.headers["retry-after"]
    assert taken == [sid, 999999, sid, sid, sid]


async def test_lane_replays_idempotent_order_with_cookie(api: Api, taken: list[int]) -> None:
    """Through the lane a repeated key replays (200) and a signed device cookie is kept."""
    s = await live_session(api)
    path = f"/api/sessions/{s['sid']}/orders"
    same = key()
    first = await api.client.post(path, json=order_body(s["offers"]["VL2"]), headers=same)
    assert first.status_code == 201 and "set-cookie" in first.headers
    again = await api.client.post(path, json=order_body(s["offers"]["VL2"]), headers=same)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert "set-cookie" not in again.headers  # the client kept the cookie of the first
    assert len(taken) == 2
