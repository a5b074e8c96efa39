"""Running a sale through the API: attached lots, streamer identity, moderators, sale
control, staff accounts, the order desk, order lookup by code, coop search, banks."""

from __future__ import annotations

import pytest

from shop.live.records import Intent
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

STREAMER = {
    "full_name": "Nguyễn Văn Minh",
    "id_number": "024099001234",
    "position": "Phó Chủ tịch UBND tỉnh",
    "organisation": "UBND tỉnh Bắc Ninh",
}


async def new_lot(api: Api, role: str = "coop", product: str = "Vải thiều") -> dict:
    me = (await api.client.get("/api/auth/me", headers=api.auth(role))).json()
    r = await api.client.post(
        "/api/lots",
        json={"cooperative_id": me["cooperative_id"], "product": product, "stock_grams": 10**6},
        headers=api.auth(role),
    )
    assert r.status_code == 201, r.text
    return r.json()


def offer(lot_id: int, **extra: object) -> dict:
    return {"lot_id": lot_id, "title": "Thùng 5 kg", "pack_grams": 5000, "price": 250_000, **extra}


async def test_offers_only_on_lots_their_cooperative_attached(api: Api) -> None:
    """A host cannot sell an unattached lot (403 lot_not_attached) nor attach one itself."""
    c, host = api.client, api.auth("host")
    lot, other = await new_lot(api), await new_lot(api, "coop2", "Nhãn")
    sid = (await c.post("/api/sessions", json={"title": "Phiên"}, headers=host)).json()["id"]
    r = await c.post(f"/api/sessions/{sid}/offers", json=offer(lot["id"]), headers=host)
    assert r.status_code == 403 and r.json()["error"]["code"] == "lot_not_attached"
    for role in ("host", "coop2", "moderator"):
        r = await c.post(
            f"/api/sessions/{sid}/lots", json={"lot_id": lot["id"]}, headers=api.auth(role)
        )
        assert r.status_code == 403, (role, r.text)
    # Two cooperatives attach their own lots; the host then sells both.
    for role, lot_id in (("coop", lot["id"]), ("coop2", other["id"])):
        r = await c.post(
            f"/api/sessions/{sid}/lots", json={"lot_id": lot_id}, headers=api.auth(role)
        )
        assert r.status_code == 201, r.text
    assert r.json()["attached_lot_ids"] == sorted([lot["id"], other["id"]])
    for lot_id in (lot["id"], other["id"]):
        r = await c.post(f"/api/sessions/{sid}/offers", json=offer(lot_id), headers=host)
        assert r.status_code == 201, r.text
    # Detached: no new offers; the existing one stays.
    r = await c.delete(f"/api/sessions/{sid}/lots/{other['id']}", headers=api.auth("coop2"))
    assert r.status_code == 200 and r.json()["attached_lot_ids"] == [lot["id"]]
    r = await c.post(f"/api/sessions/{sid}/offers", json=offer(other["id"]), headers=host)
    assert r.status_code == 403 and r.json()["error"]["code"] == "lot_not_attached"
    assert len((await c.get(f"/api/sessions/{sid}")).json()["offers"]) == 2


async def test_streamer_identity_before_going_live(api: Api) -> None:
    """`start` needs the streamer (409); viewers see name, position, organisation, no ID."""
    c, host = api.client, api.auth("host")
    sid = (await c.post("/api/sessions", json={"title": "Phiên"}, headers=host)).json()["id"]
    r = await c.post(f"/api/sessions/{sid}/start", headers=host)
    assert r.status_code == 409 and r.json()["error"]["code"] == "streamer_identity_required"
    assert (await c.get(f"/api/sessions/{sid}")).json()["streamer"] is None
    r = await c.put(f"/api/sessions/{sid}/streamer", json=STREAMER, headers=host)
    assert r.status_code == 200 and r.json()["id_number"] == STREAMER["id_number"]
    r = await c.post(f"/api/sessions/{sid}/start", headers=host)
    assert r.status_code == 200 and r.json()["status"] == "live"
    public = await c.get(f"/api/sessions/{sid}")
    assert public.json()["streamer"] == {
        "full_name": "Nguyễn Văn Minh",
        "position": "Phó Chủ tịch UBND tỉnh",
        "organisation": "UBND tỉnh Bắc Ninh",
    }
    assert STREAMER["id_number"] not in public.text
    listed = await c.get("/api/sessions")
    assert STREAMER["id_number"] not in listed.text


async def test_pause_refuses_orders_resume_reopens_end_closes(api: Api) -> None:
    """Paused: 409 sale_paused and the session stays live; resumed: orders; ended: closed."""
    s = await live_session(api)
    c, host, sid = api.client, api.auth("host"), s["sid"]
    url = f"/api/sessions/{sid}/orders"
    assert (await c.get(f"/api/sessions/{sid}")).json()["sale_status"] == "open"
    r = await c.post(f"/api/sessions/{sid}/sale/pause", headers=host)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["sale_status"]) == ("live", "paused")
    r = await c.post(url, json=order_body(s["offers"]["VL5"]), headers=key())
    assert r.status_code == 409 and r.json()["error"]["code"] == "sale_paused"
    assert r.json()["error"]["message"]
    r = await c.post(f"/api/sessions/{sid}/sale/resume", headers=host)
    assert r.json()["sale_status"] == "open"
    r = await c.post(url, json=order_body(s["offers"]["VL5"]), headers=key())
    assert r.status_code == 201, r.text
    r = await c.post(f"/api/sessions/{sid}/end", headers=host)
    assert (r.json()["status"], r.json()["sale_status"]) == ("ended", "closed")
    r = await c.post(f"/api/sessions/{sid}/sale/resume", headers=host)
    assert r.status_code == 409
    r = await c.post(url, json=order_body(s["offers"]["VL5"]), headers=key())
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_not_live"


async def test_stopped_on_purpose_is_not_a_dropout(api: Api) -> None:
    """After the host's stop, the relay's `paused` does not replace `stopped`; `live` does."""
    s = await live_session(api)
    live, sid = api.app.state.services.live, s["sid"]
    r = await api.client.post(f"/api/sessions/{sid}/broadcast/stop", headers=api.auth("host"))
    assert r.status_code == 200, r.text
    assert await live.hub.stream_status(sid) == "stopped"
    await live.set_stream_status(sid, "paused")
    assert await live.hub.stream_status(sid) == "stopped"
    await live.set_stream_status(sid, "live")
    await live.set_stream_status(sid, "paused")
    assert await live.hub.stream_status(sid) == "paused"


async def test_staff_accounts_links_disable_reset_and_audit(api: Api) -> None:
    """Admin adds a user with a one-time link; disable and reset lock the old way out."""
    c, admin = api.client, api.auth("admin")
    r = await c.post(
        "/api/users",
        json={"email": "Lan@HTX.vn", "role": "coop", "cooperative_id": 1, "display_name": "Lan"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == "lan@htx.vn" and "#" in created["set_password_url"]
    token = created["set_password_url"].split("#", 1)[1]
    login = {"username": "lan@htx.vn", "password": "một-mật-khẩu-dài"}
    assert (await c.post("/api/auth/token", data=login)).status_code == 401
    r = await c.post("/api/auth/set-password", json={"token": token, "password": login["password"]})
    assert r.status_code == 200, r.text
    assert (await c.post("/api/auth/token", data=login)).status_code == 200
    again = await c.post("/api/auth/set-password", json={"token": token, "password": "x" * 12})
    assert again.status_code == 404  # one time only
    bad = await c.post("/api/users", json={"email": "a@b.vn", "role": "coop"}, headers=admin)
    assert bad.status_code == 422  # a coop account needs its cooperative
    uid = created["id"]
    assert (await c.post(f"/api/users/{uid}/disable", headers=admin)).json()["active"] is False
    assert (await c.post("/api/auth/token", data=login)).status_code == 401
    await c.post(f"/api/users/{uid}/enable", headers=admin)
    reset = await c.post(f"/api/users/{uid}/reset", headers=admin)
    assert (
        reset.status_code == 200 and reset.json()["set_password_url"] != created["set_password_url"]
    )
    assert (await c.post("/api/auth/token", data=login)).status_code == 401
    audit = (await c.get("/api/audit?object_type=user", headers=admin)).json()
    actions = [e["action"] for e in audit if e["object_id"] == str(uid)]
    for action in ("user.create", "user.password_set", "user.disable", "user.enable"):
        assert action in actions, actions
    assert audit[0]["id"] > audit[-1]["id"]  # newest first
    # Hosts read only the active moderators (to assign them).
    seen = (await c.get("/api/users", headers=api.auth("host"))).json()
    assert {u["role"] for u in seen} == {"moderator"}


async def test_cooperative_bank_account_from_the_napas_list(api: Api) -> None:
    """Banks come from the NAPAS list; a BIN not on it is refused."""
    banks = (await api.client.get("/api/banks")).json()
    by_bin = {b["bin"]: b for b in banks}
    assert len(banks) > 40 and by_bin["970436"]["short_name"] == "Vietcombank"
    assert by_bin["970405"]["short_name"] == "Agribank"
    admin = api.auth("admin")
    r = await api.client.patch(
        "/api/cooperatives/2",
        json={"bank_bin": "970405", "bank_account": "1500201234567", "bank_account_name": "HTX"},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["bank_bin"] == "970405"
    r = await api.client.patch("/api/cooperatives/2", json={"bank_bin": "123456"}, headers=admin)
    assert r.status_code == 422


async def add_intent(api: Api, sid: int, offer_id: int, name: str = "Chị Hoa") -> str:
    hub = api.app.state.services.live.hub
    stored = await hub.add_intent(
        sid,
        Intent(
            id="",
            message_id="m1",
            name=name,
            client_id="c" * 22,
            text="chốt 2 thùng 5kg sdt 0912345678",
            offer_id=offer_id,
            quantity=2,
            grams=10_000,
            total=500_000,
            ts=1,
        ),
    )
    return stored.id


async def test_order_desk_claim_order_once_matches_and_scope(api: Api) -> None:
    """An assigned moderator claims a chat order and orders it once; others are refused."""
    s = await live_session(api)
    c, sid = api.client, s["sid"]
    users = {
        u["email"]: u["id"] for u in (await c.get("/api/users", headers=api.auth("admin"))).json()
    }
    for email in ("mod@t.vn", "mod2@t.vn"):
        r = await c.post(
            f"/api/sessions/{sid}/moderators",
            json={"user_id": users[email]},
            headers=api.auth("host"),
        )
        assert r.status_code == 201
    # The buyer already ordered once in this session (same phone as in the chat line).
    await c.post(f"/api/sessions/{sid}/orders", json=order_body(s["offers"]["VL2"]), headers=key())
    intent_id = await add_intent(api, sid, s["offers"]["VL5"])
    mod, mod2 = api.auth("moderator"), api.auth("moderator2")
    desk = (await c.get(f"/api/sessions/{sid}/desk", headers=mod)).json()
    assert [(i["intent_id"], i["state"]) for i in desk] == [(intent_id, "new")]
    assert len(desk[0]["matches"]) == 1 and desk[0]["matches"][0]["code"]
    r = await c.post(f"/api/sessions/{sid}/desk/{intent_id}/claim", headers=mod)
    assert r.json()["state"] == "claimed" and r.json()["claimed_by"] == users["mod@t.vn"]
    r = await c.post(f"/api/sessions/{sid}/desk/{intent_id}/claim", headers=mod2)
    assert r.status_code == 409 and r.json()["error"]["code"] == "claimed_by_other"
    buyer = order_body(1)["buyer"]
    r = await c.post(
        f"/api/sessions/{sid}/desk/{intent_id}/order", json={"buyer": buyer}, headers=mod
    )
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["state"] == "ordered" and placed["order_id"] == placed["order"]["id"]
    r = await c.post(
        f"/api/sessions/{sid}/desk/{intent_id}/order", json={"buyer": buyer}, headers=mod
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_ordered"
    orders = (await c.get(f"/api/sessions/{sid}/orders", headers=mod)).json()
    assert len(orders) == 2 and {o["quantity"] for o in orders} == {1, 2}
    audit = (await c.get("/api/audit?action=desk.", headers=api.auth("admin"))).json()
    assert {"desk.claimed", "desk.place_order", "desk.ordered"} <= {e["action"] for e in audit}
    # Unassign mod2: refused on this desk.
    await c.delete(f"/api/sessions/{sid}/moderators/{users['mod2@t.vn']}", headers=api.auth("host"))
    assert (await c.get(f"/api/sessions/{sid}/desk", headers=mod2)).status_code == 403


async def test_order_lookup_by_code_and_phone(api: Api) -> None:
    """Code + phone give the order and its token; a wrong one of them the same 404."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"]), headers=key()
    )
    placed = r.json()
    code = placed["code"]
    found = await api.client.get(f"/api/orders/lookup?code={code.lower()}&phone=0912 345 678")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == placed["id"] and found.json()["token"] == placed["token"]
    wrong_phone = await api.client.get(f"/api/orders/lookup?code={code}&phone=0987654321")
    wrong_code = await api.client.get("/api/orders/lookup?code=ZZZZZZZZ&phone=0912345678")
    assert wrong_phone.status_code == wrong_code.status_code == 404
    assert wrong_phone.json() == wrong_code.json()


@pytest.mark.parametrize("query", ["code", "0912345", "+84912345678", "chi hoa"])
async def test_coop_finds_orders_by_code_phone_or_name(api: Api, query: str) -> None:
    """The coop's order list filters by code, part of the phone or the name sans accents."""
    s = await live_session(api)
    url = f"/api/sessions/{s['sid']}/orders"
    mine = (await api.client.post(url, json=order_body(s["offers"]["VL5"]), headers=key())).json()
    other = order_body(s["offers"]["VL2"], phone="0987000111")
    other["buyer"]["name"] = "Anh Tuấn"
    await api.client.post(url, json=other, headers=key())
    q = mine["code"] if query == "code" else query
    r = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders", params={"q": q}, headers=api.auth("coop")
    )
    assert [o["id"] for o in r.json()] == [mine["id"]]
