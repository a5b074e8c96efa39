"""FARMLIVE_PREPAY_AFTER_REFUSALS: a phone with that many refused deliveries must prepay."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

PHONE = "0987654321"


@pytest.fixture
def settings(database_url: str):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-which-is-long-enough",
        prepay_after_refusals=1,
        _env_file=None,  # type: ignore[call-arg]
    )


async def test_cod_refused_after_a_refusal_but_transfer_taken(api: Api) -> None:
    """After one returned parcel, COD from that phone is 422 prepayment_required; a bank
    transfer from it, and COD from another phone, still go through."""
    s = await live_session(api)
    url = f"/api/sessions/{s['sid']}/orders"
    first = (
        await api.client.post(url, json=order_body(s["offers"]["VL5"], phone=PHONE), headers=key())
    ).json()
    admin = api.auth("admin")
    assert (
        await api.client.post(f"/api/orders/{first['id']}/confirm", headers=admin)
    ).status_code == 200
    r = await api.client.post(f"/api/orders/{first['id']}/returned", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    cod = await api.client.post(
        url, json=order_body(s["offers"]["VL5"], phone=PHONE), headers=key()
    )
    assert cod.status_code == 422 and cod.json()["error"]["code"] == "prepayment_required"
    transfer = await api.client.post(
        url, json=order_body(s["offers"]["VL5"], phone=PHONE, method="bank_transfer"), headers=key()
    )
    assert transfer.status_code == 201, transfer.text
    other = await api.client.post(
        url, json=order_body(s["offers"]["VL5"], phone="0911111111"), headers=key()
    )
    assert other.status_code == 201
