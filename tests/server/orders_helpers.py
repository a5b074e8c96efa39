"""Helpers for order tests: a live session fixture body, order bodies, the invariant check."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Api


def order_body(
    offer_id: int, quantity: int = 1, phone: str = "0912345678", method: str = "cod", **extra: Any
) -> dict:
    return {
        "offer_id": offer_id,
        "quantity": quantity,
        "buyer": {
            "name": "Chị Hoa",
            "phone": phone,
            "address": {"province": "Bắc Ninh", "ward": "Phường Chũ", "street": "Thôn Bãi Bông"},
        },
        "payment_method": method,
        **extra,
    }


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def ready_to_sell(
    api: Api, sid: int, lot_id: int, attach_as: str = "coop", host: str = "host"
) -> None:
    """What a session needs before offers and `start`: the lot attached, a streamer recorded."""
    r = await api.client.post(
        f"/api/sessions/{sid}/lots", json={"lot_id": lot_id}, headers=api.auth(attach_as)
    )
    assert r.status_code == 201, r.text
    r = await api.client.put(
        f"/api/sessions/{sid}/streamer",
        json={"full_name": "Nguyễn Văn A", "id_number": "001099012345", "position": "Giám đốc"},
        headers=api.auth(host),
    )
    assert r.status_code == 200, r.text


async def assign_moderator(api: Api, sid: int, email: str) -> None:
    users = (await api.client.get("/api/users", headers=api.auth("admin"))).json()
    user_id = next(u["id"] for u in users if u["email"] == email)
    r = await api.client.post(
        f"/api/sessions/{sid}/moderators", json={"user_id": user_id}, headers=api.auth("host")
    )
    assert r.status_code == 201, r.text


async def live_session(
    api: Api, stock_grams: int = 5_000_000, max_grams_per_buyer: int | None = None
) -> dict:
    """A live session with 2/5/10 kg offers drawn from one lot; returns ids."""
    coop_id = (await api.client.get("/api/cooperatives")).json()[0]["id"]
    lot = await api.client.post(
        "/api/lots",
        json={"cooperative_id": coop_id, "product": "Vải thiều", "stock_grams": stock_grams},
        headers=api.auth("coop"),
    )
    lot_id = lot.json()["id"]
    body: dict[str, Any] = {"title": "Phiên vải"}
    if max_grams_per_buyer:
        body["max_grams_per_buyer"] = max_grams_per_buyer
    session = (await api.client.post("/api/sessions", json=body, headers=api.auth("host"))).json()
    sid = session["id"]
    await ready_to_sell(api, sid, lot_id)
    await assign_moderator(api, sid, "mod@t.vn")  # the `moderator` role moderates this sale
    offers = {}
    for code, pack, price in [
        ("VL2", 2000, 110_000),
        ("VL5", 5000, 250_000),
        ("VL10", 10_000, 480_000),
    ]:
        r = await api.client.post(
            f"/api/sessions/{sid}/offers",
            json={
                "lot_id": lot_id,
                "title": f"Thùng {pack // 1000} kg",
                "pack_grams": pack,
                "price": price,
                "code": code,
                "max_per_order": 50,
            },
            headers=api.auth("host"),
        )
        assert r.status_code == 201, r.text
        offers[code] = r.json()["id"]
    assert (
        await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    ).status_code == 200
    return {"sid": sid, "lot_id": lot_id, "coop_id": coop_id, "offers": offers}


async def settle(api: Api) -> None:
    """Apply every pending outbox row now (the relay would within a moment)."""
    await api.app.state.services.orders.drain_outbox()


async def assert_invariant(api: Api, lot_id: int) -> dict[str, int]:
    """SQL and the gate agree, and available + held + sold == stock in both."""
    await settle(api)
    services = api.app.state.services
    [sql] = await services.catalogue.lot_figures([lot_id])
    gate = await services.gate.snapshot(lot_id)
    assert sql.available_grams + sql.held_grams + sql.sold_grams == sql.stock_grams
    assert 0 <= sql.sold_grams <= sql.stock_grams
    assert gate.available_grams + gate.held_grams + gate.sold_grams == gate.stock_grams
    assert (gate.stock_grams, gate.sold_grams, gate.held_grams) == (
        sql.stock_grams,
        sql.sold_grams,
        sql.held_grams,
    ), (gate, sql)
    return {
        "stock": sql.stock_grams,
        "sold": sql.sold_grams,
        "held": sql.held_grams,
        "available": sql.available_grams,
    }
