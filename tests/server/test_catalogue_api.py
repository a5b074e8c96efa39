"""The catalogue and session endpoints: roles, object-level checks, strict validation."""

from __future__ import annotations

import pytest

from tests.conftest import Api


async def make_lot(api: Api, stock: int = 60_000_000) -> int:
    coop_id = (await api.client.get("/api/cooperatives")).json()[0]["id"]
    r = await api.client.post(
        "/api/lots",
        json={
            "cooperative_id": coop_id,
            "product": "Vải thiều",
            "grade": "A",
            "stock_grams": stock,
        },
        headers=api.auth("coop"),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def make_session(api: Api, role: str = "host", lot_id: int | None = None) -> dict:
    """A scheduled session with its streamer recorded, and `lot_id` attached if given."""
    r = await api.client.post(
        "/api/sessions", json={"title": "Phiên vải thiều"}, headers=api.auth(role)
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    streamer = {"full_name": "Nguyễn Văn A", "id_number": "001099012345"}
    put = await api.client.put(
        f"/api/sessions/{sid}/streamer", json=streamer, headers=api.auth(role)
    )
    assert put.status_code == 200, put.text
    if lot_id is not None:
        attach = await api.client.post(
            f"/api/sessions/{sid}/lots", json={"lot_id": lot_id}, headers=api.auth("coop")
        )
        assert attach.status_code == 201, attach.text
    return r.json()


def assert_error(r, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


async def test_session_lifecycle_and_public_view(api: Api) -> None:
    """A host creates a session with offers, starts it, pins an offer; the public sees it."""
    lot_id = await make_lot(api)
    session = await make_session(api, lot_id=lot_id)
    assert session["status"] == "scheduled" and session["stream_key"]
    sid = session["id"]
    offers = []
    for pack, price in [(2000, 110_000), (5000, 250_000)]:
        r = await api.client.post(
            f"/api/sessions/{sid}/offers",
            json={
                "lot_id": lot_id,
                "title": f"Thùng {pack // 1000} kg",
                "pack_grams": pack,
                "price": price,
            },
            headers=api.auth("host"),
        )
        assert r.status_code == 201, r.text
        offers.append(r.json())
    assert offers[0]["code"] != offers[1]["code"]
    r = await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    assert r.json()["status"] == "live"
    r = await api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": offers[1]["id"]}, headers=api.auth("host")
    )
    assert r.json()["pinned_offer_id"] == offers[1]["id"]
    public = (await api.client.get(f"/api/sessions/{sid}")).json()
    assert "stream_key" not in public
    assert [o["id"] for o in public["offers"]] == [o["id"] for o in offers]
    assert public["lots"] == [
        {
            "id": lot_id,
            "cooperative_id": public["lots"][0]["cooperative_id"],
            "product": "Vải thiều",
            "stock_grams": 60_000_000,
            "sold_grams": 0,
            "held_grams": 0,
            "available_grams": 60_000_000,
            "photos": [],
        }
    ]
    assert public["sale_status"] == "open" and public["attached_lot_ids"] == [lot_id]
    assert public["streamer"] == {
        "full_name": "Nguyễn Văn A",
        "position": None,
        "organisation": None,
    }
    listed = (await api.client.get("/api/sessions")).json()
    assert [s["id"] for s in listed] == [sid] and "stream_key" not in listed[0]
    r = await api.client.post(f"/api/sessions/{sid}/end", headers=api.auth("host"))
    assert r.json()["status"] == "ended"
    r = await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    assert_error(r, 409, "invalid_transition")


async def test_unauthenticated_is_401(api: Api) -> None:
    """Staff endpoints without a token or with a forged one answer 401 with the error JSON."""
    r = await api.client.post("/api/cooperatives", json={"name": "X"})
    assert_error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.client.post(
        "/api/cooperatives", json={"name": "X"}, headers={"Authorization": "Bearer not.a.token"}
    )
    assert_error(r, 401, "unauthenticated")


async def test_wrong_role_and_foreign_objects_are_403(api: Api) -> None:
    """Wrong roles and other people's sessions or cooperatives are refused with 403."""
    r = await api.client.post("/api/cooperatives", json={"name": "X"}, headers=api.auth("host"))
    assert_error(r, 403, "forbidden")
    session = await make_session(api)
    sid = session["id"]
    for path in ("start", "end"):
        assert_error(
            await api.client.post(f"/api/sessions/{sid}/{path}", headers=api.auth("host2")), 403
        )
    r = await api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": None}, headers=api.auth("coop")
    )
    assert_error(r, 403)
    r = await api.client.get(f"/api/sessions/{sid}/staff", headers=api.auth("host2"))
    assert_error(r, 403)
    coop_id = (await api.client.get("/api/cooperatives")).json()[0]["id"]
    r = await api.client.post(
        "/api/lots",
        json={"cooperative_id": coop_id, "product": "Vải", "stock_grams": 1000},
        headers=api.auth("coop2"),
    )
    assert_error(r, 403)
    r = await api.client.post(
        "/api/sessions", json={"title": "x", "host_id": 1}, headers=api.auth("host2")
    )
    assert_error(r, 403)
    # The host owns it: allowed.
    assert (
        await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    ).status_code == 200
    assert (
        await api.client.post(f"/api/sessions/{sid}/end", headers=api.auth("admin"))
    ).status_code == 200


async def test_unknown_ids_are_404(api: Api) -> None:
    """Unknown sessions, lots, cooperatives, offers and routes answer 404 with the error JSON."""
    assert_error(await api.client.get("/api/sessions/999999"), 404, "not_found")
    assert_error(await api.client.get("/api/lots/999999"), 404, "not_found")
    assert_error(await api.client.get("/api/cooperatives/999999"), 404, "not_found")
    assert_error(await api.client.get("/api/nothing-here"), 404, "not_found")
    session = await make_session(api)
    r = await api.client.post(
        f"/api/sessions/{session['id']}/pin", json={"offer_id": 424242}, headers=api.auth("host")
    )
    assert_error(r, 404)
    r = await api.client.post(
        f"/api/sessions/{session['id']}/offers",
        json={"lot_id": 424242, "title": "x", "pack_grams": 5000, "price": 1},
        headers=api.auth("host"),
    )
    assert_error(r, 404)
    r = await api.client.post(
        "/api/lots",
        json={"cooperative_id": 424242, "product": "x", "stock_grams": 1},
        headers=api.auth("admin"),
    )
    assert_error(r, 404)


@pytest.mark.parametrize(
    "body",
    [
        {"product": "Vải", "stock_grams": -5},
        {"product": "Vải", "stock_grams": 0},
        {"product": "Vải", "stock_grams": 1.5},
        {"product": "Vải", "stock_grams": "1000"},
        {"product": "Vải", "stock_grams": True},
        {"product": "Vải", "stock_grams": 10**30},
        {"product": "Vải", "stock_grams": 1000, "sold_grams": 5},
        {"product": "x" * 10_000, "stock_grams": 1000},
        {"product": "", "stock_grams": 1000},
        {"product": "Vải\x00", "stock_grams": 1000},
        {"product": "Vải\u202e", "stock_grams": 1000},
        {"stock_grams": 1000},
    ],
)
async def test_bad_lot_bodies_are_422(api: Api, body: dict) -> None:
    """Negative or fractional grams, unknown fields, huge or hidden-character text get 422."""
    coop_id = (await api.client.get("/api/cooperatives")).json()[0]["id"]
    r = await api.client.post(
        "/api/lots", json={"cooperative_id": coop_id, **body}, headers=api.auth("coop")
    )
    assert_error(r, 422, "invalid_input")
    assert (await api.client.get(f"/api/cooperatives/{coop_id}/lots")).json() == []


async def test_bad_bodies_elsewhere_are_422_never_500(api: Api) -> None:
    """Titles of 10 kB, broken JSON, wrong types and extra fields are 422 on every endpoint."""
    r = await api.client.post(
        "/api/sessions", json={"title": "t" * 10_000}, headers=api.auth("host")
    )
    assert_error(r, 422)
    r = await api.client.post(
        "/api/sessions",
        content=b"{not json",
        headers={**api.auth("host"), "content-type": "application/json"},
    )
    assert_error(r, 422)
    r = await api.client.post("/api/sessions", json=[1, 2], headers=api.auth("host"))
    assert_error(r, 422)
    lot_id = await make_lot(api)
    session = await make_session(api, lot_id=lot_id)
    for bad in [
        {"lot_id": lot_id, "title": "x", "pack_grams": 5000, "price": -1},
        {"lot_id": lot_id, "title": "x", "pack_grams": 5000, "price": 1.5},
        {"lot_id": lot_id, "title": "x", "pack_grams": 5000, "price": 1, "currency": "USD"},
        {"lot_id": lot_id, "title": "x", "pack_grams": 5000, "price": 1, "status": "sold"},
        {"lot_id": lot_id, "title": "x", "pack_grams": 0, "price": 1},
        {"lot_id": "1", "title": "x", "pack_grams": 5000, "price": 1},
    ]:
        r = await api.client.post(
            f"/api/sessions/{session['id']}/offers", json=bad, headers=api.auth("host")
        )
        assert_error(r, 422)
    assert (await api.client.get(f"/api/sessions/{session['id']}")).json()["offers"] == []
    r = await api.client.post("/api/cooperatives", json={"name": "   "}, headers=api.auth("admin"))
    assert_error(r, 422)


async def test_text_is_nfc_normalised(api: Api) -> None:
    """Decomposed Vietnamese input is stored in NFC form."""
    decomposed = "Vải thiều".encode().decode()  # make sure we start from a str
    import unicodedata

    nfd = unicodedata.normalize("NFD", decomposed)
    assert nfd != decomposed
    r = await api.client.post("/api/cooperatives", json={"name": nfd}, headers=api.auth("admin"))
    assert r.status_code == 201
    assert r.json()["name"] == unicodedata.normalize("NFC", nfd)


async def test_login_flow(api: Api) -> None:
    """The OAuth2 password flow gives a token that works; wrong passwords get 401."""
    r = await api.client.post(
        "/api/auth/token", data={"username": "host@t.vn", "password": "password-123"}
    )
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = await api.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["role"] == "host"
    r = await api.client.post("/api/auth/token", data={"username": "host@t.vn", "password": "nope"})
    assert_error(r, 401)
    r = await api.client.post(
        "/api/auth/token", data={"username": "ghost@t.vn", "password": "nope"}
    )
    assert_error(r, 401)


async def test_health_ready_metrics(api: Api) -> None:
    """Health, readiness and Prometheus metrics answer per the contract."""
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    r = await api.client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await api.client.get("/metrics")
    assert r.status_code == 200 and "farmlive_orders_total" in r.text


async def test_an_ended_session_takes_no_pin(api: Api) -> None:
    """A pin after the end would be no moment of the replay: 409, and the pin stays."""
    lot_id = await make_lot(api)
    sid = (await make_session(api, lot_id=lot_id))["id"]
    offer = (
        await api.client.post(
            f"/api/sessions/{sid}/offers",
            json={"lot_id": lot_id, "title": "Thùng 5 kg", "pack_grams": 5000, "price": 250_000},
            headers=api.auth("host"),
        )
    ).json()
    await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    await api.client.post(f"/api/sessions/{sid}/end", headers=api.auth("host"))
    r = await api.client.post(
        f"/api/sessions/{sid}/pin", json={"offer_id": offer["id"]}, headers=api.auth("host")
    )
    assert_error(r, 409, "conflict")
    assert (await api.client.get(f"/api/sessions/{sid}")).json()["pinned_offer_id"] is None
