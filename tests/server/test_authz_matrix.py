"""The authorisation matrix: every staff route (one that needs a bearer token), each role.

- no token (or a bad one) -> 401 on every staff route;
- a role that may not use a route -> 403, including object-level refusals: host2 on host's
  session, coop2 on coop's cooperative, moderator2 (assigned to no session) on the session
  `moderator` is assigned to (roles: tests/conftest.py `api`);
- admins (who may do everything) are never refused;
- the session's stream key appears in no public GET response.

The staff routes are enumerated from the app itself, and a route missing from RULES fails
`test_staff_routes_are_enumerated_and_all_covered`, so the matrix cannot silently shrink.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from server.auth import current_user
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

# Who may use what. `forbidden`: roles that must get 403 (the object is always host's
# session / coop's cooperative / an order of that session and cooperative).
SESSION_CONTROL = frozenset({"host2", "coop", "coop2", "moderator", "moderator2"})
SESSION_MODERATION = frozenset({"host2", "coop", "coop2", "moderator2"})  # + assigned mods
OWN_COOPERATIVE = frozenset({"host", "host2", "coop2", "moderator", "moderator2"})
ORDER_STAFF = frozenset({"host2", "coop2", "moderator2"})  # host/coop, assigned mods, admins
NOT_ADMIN = frozenset({"host", "host2", "coop", "coop2", "moderator", "moderator2"})
LOT_OWNER = frozenset({"host", "host2", "coop2", "moderator", "moderator2"})  # coop + admin


@dataclass(frozen=True)
class Rule:
    path: str  # with {placeholders} filled from World.ids
    forbidden: frozenset[str]
    body: Callable[[World], Any] | None = None


@dataclass
class World:
    """host's live session selling coop's lot, with one order in it."""

    ids: dict[str, Any]
    stream_key: str


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/auth/me"): Rule("/api/auth/me", frozenset()),
    ("POST", "/api/cooperatives"): Rule(
        "/api/cooperatives",
        frozenset({"host", "host2", "coop", "coop2", "moderator"}),
        lambda w: {"name": "HTX Mới"},
    ),
    ("POST", "/api/lots"): Rule(
        "/api/lots",
        OWN_COOPERATIVE,
        lambda w: {"cooperative_id": w.ids["cid"], "product": "Vải", "stock_grams": 1000},
    ),
    ("POST", "/api/lots/{lot_id}/restock"): Rule(
        "/api/lots/{lot_id}/restock",
        OWN_COOPERATIVE,
        lambda w: {"grams": 1000, "reason": "hàng còn tốt"},
    ),
    ("POST", "/api/sessions"): Rule(
        "/api/sessions", frozenset({"coop", "coop2", "moderator"}), lambda w: {"title": "Phiên"}
    ),
    ("GET", "/api/sessions/{sid}/staff"): Rule("/api/sessions/{sid}/staff", SESSION_CONTROL),
    ("POST", "/api/sessions/{sid}/offers"): Rule(
        "/api/sessions/{sid}/offers",
        SESSION_CONTROL,
        lambda w: {
            "lot_id": w.ids["lot_id"],
            "title": "Thùng 1 kg",
            "pack_grams": 1000,
            "price": 50_000,
        },
    ),
    ("POST", "/api/sessions/{sid}/start"): Rule("/api/sessions/{sid}/start", SESSION_CONTROL),
    ("POST", "/api/sessions/{sid}/end"): Rule("/api/sessions/{sid}/end", SESSION_CONTROL),
    ("POST", "/api/sessions/{sid}/pin"): Rule(
        "/api/sessions/{sid}/pin", SESSION_CONTROL, lambda w: {"offer_id": w.ids["offer_id"]}
    ),
    ("PUT", "/api/sessions/{sid}/streamer"): Rule(
        "/api/sessions/{sid}/streamer",
        SESSION_CONTROL,
        lambda w: {"full_name": "Nguyễn Văn A", "id_number": "001099012345"},
    ),
    ("PUT", "/api/sessions/{sid}/restream"): Rule(
        "/api/sessions/{sid}/restream",
        SESSION_CONTROL,
        lambda w: [{"url": "rtmp://127.0.0.1:1/app/authz-matrix-key", "enabled": False}],
    ),
    ("GET", "/api/sessions/{sid}/restream"): Rule("/api/sessions/{sid}/restream", SESSION_CONTROL),
    ("GET", "/api/sessions/{sid}/orders"): Rule("/api/sessions/{sid}/orders", SESSION_MODERATION),
    ("GET", "/api/sessions/{sid}/intents"): Rule("/api/sessions/{sid}/intents", SESSION_MODERATION),
    ("POST", "/api/sessions/{sid}/chat/{message_id}/delete"): Rule(
        "/api/sessions/{sid}/chat/no-such-line/delete", SESSION_MODERATION
    ),
    ("POST", "/api/sessions/{sid}/mute"): Rule(
        "/api/sessions/{sid}/mute", SESSION_MODERATION, lambda w: {"name": "Khách"}
    ),
    ("POST", "/api/sessions/{sid}/ban"): Rule(
        "/api/sessions/{sid}/ban", SESSION_MODERATION, lambda w: {"name": "Khách"}
    ),
    ("POST", "/api/orders/{order_id}/confirm"): Rule("/api/orders/{order_id}/confirm", ORDER_STAFF),
    ("POST", "/api/orders/{order_id}/cancel"): Rule("/api/orders/{order_id}/cancel", ORDER_STAFF),
    ("GET", "/api/cooperatives/{cid}/orders.csv"): Rule(
        "/api/cooperatives/{cid}/orders.csv", OWN_COOPERATIVE
    ),
    ("GET", "/api/cooperatives/{cid}/orders"): Rule(
        "/api/cooperatives/{cid}/orders", OWN_COOPERATIVE
    ),
    ("GET", "/api/cooperatives/{cid}/sessions"): Rule(
        "/api/cooperatives/{cid}/sessions", OWN_COOPERATIVE
    ),
    # After the sale (issue 16): delivery moves and batches, the bank-transfer queue.
    ("POST", "/api/orders/{order_id}/ship"): Rule(
        "/api/orders/{order_id}/ship", ORDER_STAFF, lambda w: {"carrier": "ghn"}
    ),
    ("POST", "/api/orders/{order_id}/delivered"): Rule(
        "/api/orders/{order_id}/delivered", ORDER_STAFF
    ),
    ("POST", "/api/orders/{order_id}/returned"): Rule(
        "/api/orders/{order_id}/returned", ORDER_STAFF
    ),
    ("GET", "/api/orders/{order_id}/shipment"): Rule(
        "/api/orders/{order_id}/shipment", ORDER_STAFF
    ),
    ("POST", "/api/cooperatives/{cid}/shipments"): Rule(
        "/api/cooperatives/{cid}/shipments",
        OWN_COOPERATIVE,
        lambda w: {"order_ids": [w.ids["order_id"]], "carrier": "ghn"},
    ),
    ("GET", "/api/cooperatives/{cid}/shipments/{batch_id}/labels.pdf"): Rule(
        "/api/cooperatives/{cid}/shipments/{batch_id}/labels.pdf", OWN_COOPERATIVE
    ),
    ("GET", "/api/payments/bank-transfers"): Rule(
        "/api/payments/bank-transfers", frozenset({"host", "host2", "coop", "coop2", "moderator"})
    ),
    ("POST", "/api/payments/bank-transfers/{transfer_id}/resolve"): Rule(
        "/api/payments/bank-transfers/sepay:1/resolve",
        frozenset({"host", "host2", "coop", "coop2", "moderator"}),
        lambda w: {"resolution": "Đã hoàn tiền"},
    ),
    ("GET", "/api/complaints"): Rule(
        "/api/complaints", frozenset({"host", "host2", "coop", "coop2"})
    ),
    ("POST", "/api/complaints/{complaint_id}/resolve"): Rule(
        "/api/complaints/{complaint_id}/resolve",
        frozenset({"host", "host2", "coop", "coop2"}),
        lambda w: {"resolution": "Đã gọi lại cho khách"},
    ),
    # -- sessions: lots, moderators, sale control, banned words (operate) ---------------
    ("POST", "/api/sessions/{sid}/lots"): Rule(
        "/api/sessions/{sid}/lots", LOT_OWNER, lambda w: {"lot_id": w.ids["lot_id"]}
    ),
    ("DELETE", "/api/sessions/{sid}/lots/{lot_id}"): Rule(
        "/api/sessions/{sid}/lots/{lot_id}", LOT_OWNER
    ),
    ("POST", "/api/sessions/{sid}/moderators"): Rule(
        "/api/sessions/{sid}/moderators",
        SESSION_CONTROL,
        lambda w: {"user_id": w.ids["moderator_id"]},
    ),
    ("DELETE", "/api/sessions/{sid}/moderators/{user_id}"): Rule(
        "/api/sessions/{sid}/moderators/{moderator_id}", SESSION_CONTROL
    ),
    ("POST", "/api/sessions/{sid}/sale/pause"): Rule(
        "/api/sessions/{sid}/sale/pause", SESSION_CONTROL
    ),
    ("POST", "/api/sessions/{sid}/sale/resume"): Rule(
        "/api/sessions/{sid}/sale/resume", SESSION_CONTROL
    ),
    ("PUT", "/api/sessions/{sid}/sale/after-end"): Rule(
        "/api/sessions/{sid}/sale/after-end", SESSION_CONTROL, lambda w: {"open": True}
    ),
    ("PATCH", "/api/sessions/{sid}/offers/{offer_id}"): Rule(
        "/api/sessions/{sid}/offers/{offer_id}", SESSION_CONTROL, lambda w: {"price": 260_000}
    ),
    ("POST", "/api/sessions/{sid}/broadcast/stop"): Rule(
        "/api/sessions/{sid}/broadcast/stop", SESSION_CONTROL
    ),
    ("PUT", "/api/sessions/{sid}/banned-words"): Rule(
        "/api/sessions/{sid}/banned-words", SESSION_MODERATION, lambda w: {"words": ["lừa đảo"]}
    ),
    ("GET", "/api/sessions/{sid}/banned-words"): Rule(
        "/api/sessions/{sid}/banned-words", SESSION_MODERATION
    ),
    ("GET", "/api/staff/sessions"): Rule("/api/staff/sessions", frozenset({"coop", "coop2"})),
    # -- the order desk ------------------------------------------------------------------
    ("GET", "/api/sessions/{sid}/desk"): Rule("/api/sessions/{sid}/desk", SESSION_MODERATION),
    **{
        ("POST", f"/api/sessions/{{sid}}/desk/{{intent_id}}/{verb}"): Rule(
            f"/api/sessions/{{sid}}/desk/no-such-intent/{verb}", SESSION_MODERATION
        )
        for verb in ("claim", "release", "dismiss")
    },
    ("POST", "/api/sessions/{sid}/desk/{intent_id}/order"): Rule(
        "/api/sessions/{sid}/desk/no-such-intent/order",
        SESSION_MODERATION,
        lambda w: {"buyer": order_body(1)["buyer"]},
    ),
    # -- photos --------------------------------------------------------------------------
    ("POST", "/api/lots/{lot_id}/photos"): Rule("/api/lots/{lot_id}/photos", OWN_COOPERATIVE),
    ("POST", "/api/offers/{offer_id}/photos"): Rule(
        "/api/offers/{offer_id}/photos", SESSION_CONTROL
    ),
    ("DELETE", "/api/photos/{photo_id}"): Rule("/api/photos/{photo_id}", OWN_COOPERATIVE),
    # -- staff console -------------------------------------------------------------------
    ("GET", "/api/users"): Rule(
        "/api/users", frozenset({"coop", "coop2", "moderator", "moderator2"})
    ),
    ("POST", "/api/users"): Rule(
        "/api/users", NOT_ADMIN, lambda w: {"email": "new@t.vn", "role": "moderator"}
    ),
    ("POST", "/api/users/{user_id}/disable"): Rule("/api/users/{extra_id}/disable", NOT_ADMIN),
    ("POST", "/api/users/{user_id}/enable"): Rule("/api/users/{extra_id}/enable", NOT_ADMIN),
    ("POST", "/api/users/{user_id}/reset"): Rule("/api/users/{extra_id}/reset", NOT_ADMIN),
    ("GET", "/api/audit"): Rule("/api/audit", NOT_ADMIN),
    ("PATCH", "/api/cooperatives/{cid}"): Rule(
        "/api/cooperatives/{cid}", NOT_ADMIN, lambda w: {"phone": "0204388000"}
    ),
}

# Staff routes the matrix must find at the very least (the public contract's and more).
KNOWN = {
    ("POST", "/api/cooperatives"),
    ("POST", "/api/lots"),
    ("POST", "/api/lots/{lot_id}/restock"),
    ("POST", "/api/sessions"),
    ("POST", "/api/sessions/{sid}/offers"),
    ("POST", "/api/sessions/{sid}/start"),
    ("POST", "/api/sessions/{sid}/end"),
    ("POST", "/api/sessions/{sid}/pin"),
    ("GET", "/api/sessions/{sid}/staff"),
    ("POST", "/api/orders/{order_id}/confirm"),
    ("POST", "/api/orders/{order_id}/cancel"),
    ("GET", "/api/cooperatives/{cid}/orders.csv"),
    ("GET", "/api/cooperatives/{cid}/orders"),
    ("POST", "/api/sessions/{sid}/chat/{message_id}/delete"),
    ("POST", "/api/sessions/{sid}/mute"),
    ("POST", "/api/sessions/{sid}/ban"),
    ("POST", "/api/sessions/{sid}/lots"),
    ("POST", "/api/sessions/{sid}/moderators"),
    ("POST", "/api/sessions/{sid}/sale/pause"),
    ("POST", "/api/sessions/{sid}/sale/resume"),
    ("GET", "/api/sessions/{sid}/desk"),
    ("GET", "/api/sessions/{sid}/intents"),
    ("GET", "/api/sessions/{sid}/orders"),
}

# Run last (so that, if one were wrongly allowed, the other routes still meet a live
# session and an open order); the positive run gives them to admin only.
LAST = [
    ("DELETE", "/api/sessions/{sid}/moderators/{user_id}"),
    ("POST", "/api/orders/{order_id}/cancel"),
    ("POST", "/api/sessions/{sid}/end"),
]


def ordered() -> list[tuple[str, str]]:
    return [k for k in sorted(RULES) if k not in LAST] + LAST


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's included-router wrapper
            yield from _api_routes(route.original_router.routes)


def _needs_user(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is current_user:
            return True
        stack.extend(dep.dependencies)
    return False


def route_table(app: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(staff routes, public routes) as (METHOD, path) pairs, from the app's own routes."""
    staff: set[tuple[str, str]] = set()
    public: set[tuple[str, str]] = set()
    for route in _api_routes(app.routes):
        for method in route.methods or ():
            (staff if _needs_user(route) else public).add((method, route.path))
    return staff, public


def fill(path: str, world: World) -> str:
    return path.format(**world.ids)


def tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 60)).save(buffer, "PNG")
    return buffer.getvalue()


async def make_world(api: Api) -> World:
    admin, host = api.auth("admin"), api.auth("host")
    sale = await live_session(api)
    sid = sale["sid"]
    r = await api.client.post(
        f"/api/sessions/{sid}/orders", json=order_body(sale["offers"]["VL2"]), headers=key()
    )
    assert r.status_code == 201, r.text
    staff = await api.client.get(f"/api/sessions/{sid}/staff", headers=api.auth("host"))
    assert staff.status_code == 200, staff.text
    users = {
        u["email"]: u["id"] for u in (await api.client.get("/api/users", headers=admin)).json()
    }
    assign = await api.client.post(
        f"/api/sessions/{sid}/moderators", json={"user_id": users["mod@t.vn"]}, headers=host
    )
    assert assign.status_code == 201, assign.text
    extra = await api.client.post(
        "/api/users", json={"email": "extra@t.vn", "role": "host"}, headers=admin
    )
    assert extra.status_code == 201, extra.text
    photo = await api.client.post(
        f"/api/lots/{sale['lot_id']}/photos",
        content=tiny_png(),
        headers={**api.auth("coop"), "Content-Type": "image/png"},
    )
    assert photo.status_code == 201, photo.text
    return World(
        ids={
            "sid": sid,
            "cid": sale["coop_id"],
            "lot_id": sale["lot_id"],
            "offer_id": sale["offers"]["VL5"],
            "order_id": r.json()["id"],
            "complaint_id": 1,
            "message_id": "no-such-line",
            "moderator_id": users["mod@t.vn"],
            "extra_id": extra.json()["id"],
            "photo_id": photo.json()["id"],
            "batch_id": "00000000-0000-4000-8000-000000000000",
        },
        stream_key=staff.json()["stream_key"],
    )


async def call(api: Api, method: str, rule: Rule, world: World, headers: dict[str, str]) -> Any:
    body = rule.body(world) if rule.body else None
    return await api.client.request(
        method, fill(rule.path, world), json=body, headers=headers or None
    )


async def test_staff_routes_are_enumerated_and_all_covered(api: Api) -> None:
    staff, public = route_table(api.app)
    assert len(staff) >= len(KNOWN), staff
    assert KNOWN <= staff, f"not found as staff routes: {KNOWN - staff}"
    assert not (set(RULES) - staff), f"rules for routes that are not staff: {set(RULES) - staff}"
    assert not (staff - set(RULES)), f"staff routes missing from the matrix: {staff - set(RULES)}"
    assert ("POST", "/api/sessions/{sid}/orders") in public  # buyers need no account


async def test_every_staff_route_refuses_no_token_and_bad_token(api: Api) -> None:
    world = await make_world(api)
    wrong: list[str] = []
    for method, path in sorted(RULES):
        rule = RULES[(method, path)]
        for label, headers in [
            ("no token", {}),
            ("bad token", {"Authorization": "Bearer not-a-token"}),
            ("not bearer", {"Authorization": f"Basic {api.tokens['admin']}"}),
        ]:
            r = await call(api, method, rule, world, headers)
            if r.status_code != 401:
                wrong.append(f"{method} {path} {label}: {r.status_code} {r.text[:120]}")
            elif r.json()["error"]["code"] == "":
                wrong.append(f"{method} {path} {label}: 401 without an error code")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["host", "host2", "coop", "coop2", "moderator", "moderator2"])
async def test_role_matrix(api: Api, role: str) -> None:
    """Each route a role may not use answers 403 (before doing anything)."""
    world = await make_world(api)
    wrong: list[str] = []
    checked = 0
    for method, path in ordered():
        rule = RULES[(method, path)]
        if role not in rule.forbidden:
            continue
        checked += 1
        r = await call(api, method, rule, world, api.auth(role))
        if r.status_code != 403:
            wrong.append(f"{role} {method} {path}: {r.status_code} {r.text[:160]}")
        elif r.json().get("error", {}).get("code") in (None, ""):
            wrong.append(f"{role} {method} {path}: 403 without an error code")
    assert checked >= 4, f"{role}: only {checked} routes checked"
    assert not wrong, "\n".join(wrong)
    # Nothing was changed by the refused calls.
    view = (await api.client.get(f"/api/sessions/{world.ids['sid']}")).json()
    assert view["status"] == "live" and view["pinned_offer_id"] is None
    staff = await api.client.get(
        f"/api/sessions/{world.ids['sid']}/staff", headers=api.auth("host")
    )
    assert len(staff.json()["offers"]) == 3
    order = await api.client.get(
        f"/api/sessions/{world.ids['sid']}/orders", headers=api.auth("host")
    )
    assert [o["status"] for o in order.json()] == ["placed"]


async def test_owners_and_admin_are_not_refused(api: Api) -> None:
    """The other side of the matrix: admin everywhere; host, coop and moderator on the
    routes they may use (a route refusing everyone would pass the 403 checks)."""
    world = await make_world(api)
    wrong: list[str] = []
    for role in ["host", "coop", "moderator", "admin"]:
        for method, path in ordered():
            rule = RULES[(method, path)]
            if role in rule.forbidden or (role != "admin" and (method, path) in LAST):
                continue
            r = await call(api, method, rule, world, api.auth(role))
            # 404/409/422 are fine here (no such chat line, no such complaint, ...).
            if r.status_code in (401, 403) or r.status_code >= 500:
                wrong.append(f"{role} {method} {path}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_object_level_host2_and_coop2(api: Api) -> None:
    """The object-level cases spelled out: another host's session, another cooperative."""
    world = await make_world(api)
    sid, cid, order_id = world.ids["sid"], world.ids["cid"], world.ids["order_id"]
    host2, coop2 = api.auth("host2"), api.auth("coop2")
    c = api.client
    for r in [
        await c.post(f"/api/sessions/{sid}/start", headers=host2),
        await c.post(f"/api/sessions/{sid}/end", headers=host2),
        await c.post(f"/api/sessions/{sid}/pin", json={"offer_id": 1}, headers=host2),
        await c.post(
            f"/api/sessions/{sid}/offers",
            json={"lot_id": world.ids["lot_id"], "title": "X", "pack_grams": 1000, "price": 1},
            headers=host2,
        ),
        await c.get(f"/api/sessions/{sid}/staff", headers=host2),
        await c.post(f"/api/sessions/{sid}/mute", json={"name": "Khách"}, headers=host2),
        await c.post(f"/api/sessions/{sid}/chat/abc/delete", headers=host2),
        await c.post(f"/api/orders/{order_id}/confirm", headers=host2),
        await c.post(f"/api/orders/{order_id}/cancel", headers=host2),
        await c.post(
            "/api/lots",
            json={"cooperative_id": cid, "product": "Vải", "stock_grams": 1000},
            headers=coop2,
        ),
        await c.get(f"/api/cooperatives/{cid}/orders", headers=coop2),
        await c.get(f"/api/cooperatives/{cid}/orders.csv", headers=coop2),
        await c.post(f"/api/orders/{order_id}/confirm", headers=coop2),
    ]:
        assert r.status_code == 403, (r.request.method, r.request.url.path, r.text)
    # host2 and coop2 do have their own: a session of host2's, coop2's own orders.
    mine = await c.post("/api/sessions", json={"title": "Của host2"}, headers=host2)
    assert mine.status_code == 201
    me2 = (await c.get("/api/auth/me", headers=coop2)).json()
    own = await c.get(f"/api/cooperatives/{me2['cooperative_id']}/orders.csv", headers=coop2)
    assert own.status_code == 200
    # A moderator not assigned to this session: no orders, chat, intents or desk here.
    mod2 = api.auth("moderator2")
    for r in [
        await c.get(f"/api/sessions/{sid}/orders", headers=mod2),
        await c.post(f"/api/orders/{order_id}/confirm", headers=mod2),
        await c.post(f"/api/orders/{order_id}/cancel", headers=mod2),
        await c.post(f"/api/sessions/{sid}/mute", json={"name": "Khách"}, headers=mod2),
        await c.post(f"/api/sessions/{sid}/chat/abc/delete", headers=mod2),
        await c.get(f"/api/sessions/{sid}/intents", headers=mod2),
        await c.get(f"/api/sessions/{sid}/desk", headers=mod2),
        await c.put(f"/api/sessions/{sid}/banned-words", json={"words": []}, headers=mod2),
    ]:
        assert r.status_code == 403, (r.request.method, r.request.url.path, r.text)
    assert (await c.get("/api/staff/sessions", headers=mod2)).json() == []
    # The assigned moderator confirms COD orders (PRODUCT.md) and reads the orders.
    mod = api.auth("moderator")
    orders = await c.get(f"/api/sessions/{sid}/orders", headers=mod)
    assert orders.status_code == 200 and orders.json()[0]["buyer"]["phone"] == "0912345678"
    ok = await c.post(f"/api/orders/{order_id}/confirm", headers=mod)
    assert ok.status_code == 200, ok.text
    # Unassigned again: refused again.
    r = await c.delete(
        f"/api/sessions/{sid}/moderators/{world.ids['moderator_id']}", headers=api.auth("host")
    )
    assert r.status_code == 200 and r.json()["moderator_ids"] == []
    r = await c.post(f"/api/orders/{order_id}/cancel", headers=mod)
    assert r.status_code == 403


async def test_stream_key_in_no_public_get(api: Api) -> None:
    world = await make_world(api)
    assert world.stream_key and len(world.stream_key) >= 16
    _, public = route_table(api.app)
    values = {
        **world.ids,
        "code": "24",  # a province code for /api/geo/provinces/{code}/wards
        "session_id": world.ids["sid"],
    }
    paths = {"/api/openapi.json", "/api/docs"}
    for method, path in public:
        if method != "GET":
            continue
        names = re.findall(r"{(\w+)}", path)
        if all(n in values for n in names):
            paths.add(path.format(**{n: values[n] for n in names}))
    sid, lot_id, cid = world.ids["sid"], world.ids["lot_id"], world.ids["cid"]
    required = {
        "/api/sessions",
        f"/api/sessions/{sid}",
        f"/api/sessions/{sid}/stats",
        f"/api/sessions/{sid}/streamer",
        f"/api/lots/{lot_id}",
        "/api/cooperatives",
        f"/api/cooperatives/{cid}",
        f"/api/cooperatives/{cid}/lots",
    }
    assert required <= paths, required - paths
    leaks = []
    for path in sorted(paths):
        r = await api.client.get(path)
        if world.stream_key in r.text:
            leaks.append(f"GET {path} ({r.status_code})")
    # The staff view does show it (so the check above looks for the right string).
    staff = await api.client.get(f"/api/sessions/{sid}/staff", headers=api.auth("host"))
    assert world.stream_key in staff.text
    assert not leaks, f"stream key in public responses: {leaks}"
