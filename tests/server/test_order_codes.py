"""Order codes: 8 unambiguous characters, in the buyer's order JSON and the staff lists."""

from __future__ import annotations

import re

from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$")


async def test_order_json_carries_its_code_everywhere(api: Api) -> None:
    """The 201, the buyer's GET, a replay and both staff lists show the same unique code."""
    s = await live_session(api)
    headers = key()
    body = order_body(s["offers"]["VL5"], 1)
    created = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()
    assert CODE.match(order["code"]), order["code"]
    replay = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["code"] == order["code"]
    mine = await api.client.get(f"/api/orders/{order['id']}", params={"token": order["token"]})
    assert mine.json()["code"] == order["code"]
    other = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL2"]), headers=key()
    )
    assert other.json()["code"] != order["code"]
    coop = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders", headers=api.auth("coop")
    )
    session = await api.client.get(f"/api/sessions/{s['sid']}/orders", headers=api.auth("host"))
    for listing in (coop.json(), session.json()):
        assert {o["id"]: o["code"] for o in listing} == {
            order["id"]: order["code"],
            other.json()["id"]: other.json()["code"],
        }
    confirmed = await api.client.post(
        f"/api/orders/{order['id']}/confirm", headers=api.auth("host")
    )
    assert confirmed.json()["code"] == order["code"]
