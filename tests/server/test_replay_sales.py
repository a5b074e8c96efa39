"""Replays that sell: price changes are timed moments, and a sale kept open after the end
still takes orders (while stock lasts); an ended sale not kept open refuses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.hls import HlsRecorder
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body
from tests.server.test_replay_api import packet
from tests.stream.test_parameter_sets import h264_stream


@pytest.fixture
def settings(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.hls_dir = str(tmp_path / "hls")
    return settings


async def set_price(api: Api, sid: int, offer_id: int, price: int, who: str = "host"):  # type: ignore[no-untyped-def]
    return await api.client.patch(
        f"/api/sessions/{sid}/offers/{offer_id}", json={"price": price}, headers=api.auth(who)
    )


async def test_each_pin_and_price_change_is_a_moment_in_order(api: Api, settings) -> None:  # type: ignore[no-untyped-def]
    """Pin, price cut, same price again (no moment), pin: three moments with kind and price."""
    sale = await live_session(api)
    sid, offers = sale["sid"], sale["offers"]
    recorder = HlsRecorder(Path(settings.hls_dir) / str(sid), has_audio=False)
    units = h264_stream(frames=60, gop=30)
    for i, unit in enumerate(units[:30]):
        recorder.push("video", packet(unit, i))
    host = api.auth("host")
    r = await api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": offers["VL5"]}, headers=host
    )
    assert r.status_code == 200, r.text
    r = await set_price(api, sid, offers["VL5"], 230_000)
    assert r.status_code == 200, r.text
    assert r.json()["price"] == 230_000
    assert (await set_price(api, sid, offers["VL5"], 230_000)).status_code == 200  # unchanged
    r = await api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": offers["VL2"]}, headers=host
    )
    assert r.status_code == 200, r.text

    # An order placed now pays the new price.
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offers["VL5"], 2), headers=key()
    )
    assert r.status_code == 201, r.text
    assert r.json()["total"] == 2 * 230_000

    for i, unit in enumerate(units[30:], start=30):
        recorder.push("video", packet(unit, i))
    recorder.close()
    assert (await api.client.post(f"/api/sessions/{sid}/end", headers=host)).status_code == 200
    moments = (await api.client.get(f"/api/sessions/{sid}/replay")).json()["moments"]
    assert [(m["kind"], m["offer_id"], m["price"]) for m in moments] == [
        ("pin", offers["VL5"], 250_000),
        ("price", offers["VL5"], 230_000),
        ("pin", offers["VL2"], 110_000),
    ]
    assert [m["title"] for m in moments] == ["Thùng 5 kg", "Thùng 5 kg", "Thùng 2 kg"]
    assert moments[0]["t_s"] <= moments[1]["t_s"] <= moments[2]["t_s"]
    # After the end prices are final.
    late = await set_price(api, sid, offers["VL5"], 1_000)
    assert late.status_code == 409, late.text


async def test_price_change_rules(api: Api) -> None:
    """Another host may not, an offer of another session is 404, a bad price is 422."""
    sale = await live_session(api)
    sid, offer_id = sale["sid"], sale["offers"]["VL2"]
    assert (await set_price(api, sid, offer_id, 100_000, who="host2")).status_code == 403
    assert (await set_price(api, sid, 999_999, 100_000)).status_code == 404
    for bad in ({"price": -1}, {"price": "100000"}, {"price": 1, "title": "x"}):
        r = await api.client.patch(
            f"/api/sessions/{sid}/offers/{offer_id}", json=bad, headers=api.auth("host")
        )
        assert r.status_code == 422, (bad, r.text)
    session = (await api.client.get(f"/api/sessions/{sid}")).json()
    assert {o["price"] for o in session["offers"] if o["id"] == offer_id} == {110_000}


async def test_an_ended_sale_takes_orders_only_when_kept_open(api: Api) -> None:
    """Ended: refused; kept open: orders while stock lasts (then sold_out); closed: refused."""
    sale = await live_session(api, stock_grams=20_000)
    sid, offer_id = sale["sid"], sale["offers"]["VL10"]
    host = api.auth("host")
    assert (await api.client.post(f"/api/sessions/{sid}/end", headers=host)).status_code == 200

    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offer_id), headers=key()
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_not_live", r.text
    assert (await api.client.get(f"/api/sessions/{sid}")).json()["sale_status"] == "closed"

    r = await api.client.put(
        f"/api/sessions/{sid}/sale/after-end", json={"open": True}, headers=host
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["sale_status"], r.json()["sale_after_end"]) == (
        "ended",
        "open",
        True,
    )
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offer_id), headers=key()
    )
    assert r.status_code == 201, r.text
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offer_id, phone="0987654321"), headers=key()
    )
    assert r.status_code == 201, r.text
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(offer_id, phone="0977000111"), headers=key()
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "sold_out", r.text

    r = await api.client.put(
        f"/api/sessions/{sid}/sale/after-end", json={"open": False}, headers=host
    )
    assert r.status_code == 200 and r.json()["sale_status"] == "closed", r.text
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(sale["offers"]["VL2"]), headers=key()
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_not_live", r.text
    bad = await api.client.put(
        f"/api/sessions/{sid}/sale/after-end", json={"open": 1}, headers=host
    )
    assert bad.status_code == 422, bad.text
