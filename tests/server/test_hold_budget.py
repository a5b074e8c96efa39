"""Holds that cannot be farmed: budgets per address and device, shorter holds near the end."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime

import pytest

from tests.conftest import Api
from tests.server.orders_helpers import assert_invariant, key, live_session, order_body


@pytest.fixture
def settings(database_url: str):  # type: ignore[no-untyped-def]
    """The production defaults of the hold budget (conftest raises them for other tests)."""
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-which-is-long-enough",
        _env_file=None,  # type: ignore[call-arg]
    )


def from_address(api: Api, ip: str, **extra: str) -> dict[str, str]:
    """Headers that make the in-process client look like `ip`, with a fresh idempotency key."""
    api.app.state.settings.trusted_proxies = ["127.0.0.1"]  # type: ignore[attr-defined]
    return {"X-Forwarded-For": ip, **key(), **extra}


def random_phone() -> str:
    return "09" + "".join(random.choice("0123456789") for _ in range(8))


async def test_49_orders_with_random_phones_from_one_address_cannot_hold_the_lot(
    api: Api,
) -> None:
    """Finding 1: 49 unpaid orders from one address hold at most its budget; a real buyer
    at another address still gets one."""
    s = await live_session(api, stock_grams=1_000_000)
    sid, offer = s["sid"], s["offers"]["VL10"]

    async def hoard(i: int):  # type: ignore[no-untyped-def]
        method = "bank_transfer" if i % 2 else "cod"  # COD counts against the same budget
        body = order_body(offer, 2, phone=random_phone(), method=method)
        return await api.client.post(
            f"/api/sessions/{sid}/orders",
            json=body,
            headers=from_address(api, "198.51.100.7"),
        )

    answers = await asyncio.gather(*[hoard(i) for i in range(49)])
    codes = [r.status_code for r in answers]
    taken = sum(r.json()["grams"] for r in answers if r.status_code == 201)
    assert taken <= 100_000, (taken, codes)  # the address budget
    refused = [r for r in answers if r.status_code == 429]
    assert any(r.json()["error"]["code"] == "hold_limit" for r in refused), codes
    for r in refused:
        assert int(r.headers["retry-after"]) >= 1
    api.client.cookies.clear()  # another person, another browser
    buyer = await api.client.post(
        f"/api/sessions/{sid}/orders",
        json=order_body(offer, 2, phone="0987654321", method="bank_transfer"),
        headers=from_address(api, "203.0.113.20"),
    )
    assert buyer.status_code == 201, buyer.text
    figures = await assert_invariant(api, s["lot_id"])
    assert figures["available"] >= 1_000_000 - 100_000 - 20_000


async def test_a_first_order_is_never_refused_whatever_its_size(api: Api) -> None:
    """A buyer's first order in the window passes even above the whole budget."""
    s = await live_session(api, stock_grams=1_000_000)
    big = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL10"], 50, method="bank_transfer"),
        headers=from_address(api, "203.0.113.30"),
    )
    assert big.status_code == 201 and big.json()["grams"] == 500_000
    again = await api.client.post(
        f"/api/sessions/{s['sid']}/orders",
        json=order_body(s["offers"]["VL2"], 1),
        headers=from_address(api, "203.0.113.30"),
    )
    assert again.status_code == 429 and again.json()["error"]["code"] == "hold_limit"


async def test_one_device_is_limited_across_addresses(api: Api) -> None:
    """The device cookie carries the budget from one address to another."""
    s = await live_session(api, stock_grams=1_000_000)
    url, offer = f"/api/sessions/{s['sid']}/orders", s["offers"]["VL10"]
    first = await api.client.post(
        url, json=order_body(offer, 2), headers=from_address(api, "203.0.113.41")
    )
    assert first.status_code == 201
    cookie = first.headers["set-cookie"].split(";", 1)[0]
    codes = []
    for i, ip in enumerate(["203.0.113.42", "203.0.113.43"]):
        api.client.cookies.clear()
        r = await api.client.post(
            url, json=order_body(offer, 2), headers=from_address(api, ip, Cookie=cookie)
        )
        assert "set-cookie" not in r.headers, i
        codes.append((r.status_code, r.json().get("error", {}).get("code")))
    assert codes == [(201, None), (429, "hold_limit")]  # 20 kg, then 20 more: over 30 kg
    api.client.cookies.clear()
    forged = cookie.split(".")[0] + ".forged"
    elsewhere = await api.client.post(
        url, json=order_body(offer, 2), headers=from_address(api, "203.0.113.44", Cookie=forged)
    )
    assert elsewhere.status_code == 201  # a forged cookie is no device: a fresh one is issued
    assert elsewhere.headers["set-cookie"].startswith("fl_device=")


async def test_a_retry_of_a_placed_order_is_answered_even_past_the_budget(api: Api) -> None:
    """Replaying the same Idempotency-Key returns the order; the budget never hides it."""
    s = await live_session(api, stock_grams=1_000_000)
    url, body = f"/api/sessions/{s['sid']}/orders", order_body(s["offers"]["VL10"], 10)
    headers = from_address(api, "203.0.113.50")
    first = await api.client.post(url, json=body, headers=headers)
    again = await api.client.post(url, json=body, headers=headers)
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json()["id"] == first.json()["id"]


async def test_holds_are_shorter_while_a_lot_is_nearly_sold_out(api: Api) -> None:
    """Once less than 10 % of the lot is left, a new transfer hold lasts 180 s, not 900 s."""
    s = await live_session(api, stock_grams=100_000)
    url = f"/api/sessions/{s['sid']}/orders"

    async def hold_seconds(ip: str, quantity: int) -> float:
        r = await api.client.post(
            url,
            json=order_body(s["offers"]["VL5"], quantity, method="bank_transfer"),
            headers=from_address(api, ip),
        )
        assert r.status_code == 201, r.text
        expires = datetime.fromisoformat(r.json()["hold_expires_at"].replace("Z", "+00:00"))
        created = datetime.fromisoformat(r.json()["created_at"].replace("Z", "+00:00"))
        return (expires - created).total_seconds()

    assert 890 <= await hold_seconds("203.0.113.61", 19) <= 910  # 95 of 100 kg
    assert 170 <= await hold_seconds("203.0.113.62", 1) <= 190


async def test_the_host_sees_the_limits_in_the_staff_view(api: Api) -> None:
    """GET /api/sessions/{sid}/staff carries the buyer limits in force."""
    s = await live_session(api)
    view = (
        await api.client.get(f"/api/sessions/{s['sid']}/staff", headers=api.auth("host"))
    ).json()
    assert view["buyer_limits"] == {
        "address_grams": 100_000,
        "device_grams": 30_000,
        "window_seconds": 900,
        "hold_seconds": 900,
        "short_hold_seconds": 180,
        "nearly_sold_out_ratio": 0.1,
        "enabled": True,
        "max_grams_per_buyer": None,
    }
