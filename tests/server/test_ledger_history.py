"""For hypothesis-generated order histories the ledger's fold equals /stats, /ledger/head and a
model of the orders (SQLite and PostgreSQL), and `verify` passes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.adapters.sql.payment_ledger import SqlPaymentLedger
from shop.lifecycle import Event
from tests.server.orders_helpers import key, order_body

PACKS = {"VL2": (2000, 110_000), "VL5": (5000, 250_000), "VL10": (10_000, 480_000)}
SOLD = {"pending_payment", "placed", "confirmed", "paid"}
CONFIRMED = {"confirmed", "paid"}

ACTION = st.one_of(
    st.tuples(
        st.sampled_from(["cod", "bank_transfer"]), st.sampled_from(sorted(PACKS)), st.integers(1, 3)
    ),
    st.tuples(st.sampled_from(["confirm", "cancel", "refund"]), st.integers(0, 30)),
    st.tuples(st.just("expire")),
)


def model_step(status: str, action: str) -> str | None:
    """What the order service does to an order's status; None: it refuses."""
    if action == "confirm":
        return {
            "placed": "confirmed",
            "pending_payment": "paid",
            "expired": "paid",
            "confirmed": "confirmed",
            "paid": "paid",
        }.get(status)
    if action == "cancel":
        return (
            "cancelled"
            if status in {"placed", "confirmed", "pending_payment", "expired", "cancelled"}
            else None
        )
    if action == "refund":
        return "refunded" if status == "paid" else status
    return "expired" if status == "pending_payment" else status


async def run_history(app_settings: Any, history: list[tuple[Any, ...]]) -> None:
    from server.app import create_app
    from server.auth import hash_password
    from shop.accounts import Role

    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        svc = app.state.services
        coop = await svc.catalogue.create_cooperative(
            None,
            name="HTX Lịch sử",
            province="Bắc Ninh",
            bank_bin="970436",
            bank_account="0011001234567",
            bank_account_name="HTX LICH SU",
        )
        admin = await svc.accounts.add(
            f"{uuid.uuid4().hex[:8]}@t.vn", hash_password("password-123"), Role.ADMIN
        )
        auth = {"Authorization": f"Bearer {svc.tokens.issue(admin)}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            lot = (
                await client.post(
                    "/api/lots",
                    json={"cooperative_id": coop.id, "product": "Vải", "stock_grams": 10_000_000},
                    headers=auth,
                )
            ).json()
            sid = (
                await client.post("/api/sessions", json={"title": "Lịch sử"}, headers=auth)
            ).json()["id"]
            # Sold only where attached; live only with its streamer recorded.
            attached = await client.post(
                f"/api/sessions/{sid}/lots", json={"lot_id": lot["id"]}, headers=auth
            )
            assert attached.status_code == 201, attached.text
            streamer = await client.put(
                f"/api/sessions/{sid}/streamer",
                json={"full_name": "Nguyễn Văn A", "id_number": "001099012345"},
                headers=auth,
            )
            assert streamer.status_code == 200, streamer.text
            offers = {}
            for code, (pack, price) in PACKS.items():
                body = {
                    "lot_id": lot["id"],
                    "title": code,
                    "pack_grams": pack,
                    "price": price,
                    "code": code,
                    "max_per_order": 50,
                }
                offers[code] = (
                    await client.post(f"/api/sessions/{sid}/offers", json=body, headers=auth)
                ).json()["id"]
            started = await client.post(f"/api/sessions/{sid}/start", headers=auth)
            assert started.status_code == 200, started.text
            model: dict[str, list[Any]] = {}  # id -> [status, grams, total]
            for step in history:
                await apply(client, svc, auth, sid, offers, model, step)
            await svc.orders.drain_outbox()
            await check(client, svc, sid, model)


async def apply(
    client: httpx.AsyncClient,
    svc: Any,
    auth: dict[str, str],
    sid: int,
    offers: dict[str, int],
    model: dict[str, list[Any]],
    step: tuple[Any, ...],
) -> None:
    action = step[0]
    ids = list(model)
    if action in ("cod", "bank_transfer"):
        _, code, qty = step
        body = order_body(offers[code], qty, phone=f"09{len(model):08d}", method=action)
        r = await client.post(f"/api/sessions/{sid}/orders", json=body, headers=key())
        assert r.status_code == 201, r.text
        order = r.json()
        model[order["id"]] = [order["status"], order["grams"], order["total"]]
        assert order["status"] == ("placed" if action == "cod" else "pending_payment")
    elif action == "expire":
        await svc.orders.store.expire_due(datetime.now(UTC) + timedelta(hours=3))
        for line in model.values():
            line[0] = model_step(line[0], "expire")
    elif ids:
        order_id = ids[step[1] % len(ids)]
        want = model_step(model[order_id][0], action)
        if action == "refund":
            payments = SqlPaymentLedger(svc.engine, svc.orders.store.transitions)
            await payments.apply_payment_event(
                f"evt-{uuid.uuid4()}", "test", "refund", order_id, Event.REFUND
            )
        else:
            r = await client.post(f"/api/orders/{order_id}/{action}", headers=auth)
            assert (r.status_code == 200) == (want is not None), (model[order_id], action, r.text)
        if want is not None:
            model[order_id][0] = want


async def check(client: httpx.AsyncClient, svc: Any, sid: int, model: dict[str, list[Any]]) -> None:
    from shop.ledger import Entry, fold, verify_chain

    entries = [
        Entry.from_mapping(e)
        for e in (await client.get(f"/api/sessions/{sid}/ledger", params={"limit": 1000})).json()[
            "entries"
        ]
    ]
    assert verify_chain(entries).ok
    totals = fold(entries).totals().as_dict()
    kept = [line for line in model.values() if line[0] in SOLD]
    expected = {
        "sold_grams": sum(line[1] for line in kept),
        "confirmed_grams": sum(line[1] for line in kept if line[0] in CONFIRMED),
        "orders_count": len(kept),
        "revenue": sum(line[2] for line in kept),
    }
    expected["unconfirmed_grams"] = expected["sold_grams"] - expected["confirmed_grams"]
    assert totals == expected
    stats = (await client.get(f"/api/sessions/{sid}/stats")).json()
    assert {k: stats[k] for k in expected} == expected
    assert stats["held_grams"] == sum(line[1] for line in kept if line[0] == "pending_payment")
    head = (await client.get(f"/api/sessions/{sid}/ledger/head")).json()
    assert head["totals"] == expected and head["count"] == len(entries)
    for order_id, line in model.items():
        assert (await svc.orders.store.get(order_id)).status.value == line[0]
    verdict = await svc.ledger.verify(sid)
    assert verdict.ok, verdict


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(ACTION, min_size=1, max_size=20))
def test_fold_equals_stats_head_and_model(settings: Any, history: list[tuple[Any, ...]]) -> None:
    """Orders, confirms, payments, cancels, expiries and refunds: every view of the totals agrees."""
    asyncio.run(run_history(settings, history))
