"""The public ledger over HTTP: honest per-session totals, pages, CSV, head, seal, report, scripts."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shop.adapters.sql.payment_ledger import SqlPaymentLedger
from shop.ledger import Entry, fold, verify_chain
from shop.lifecycle import Event
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body, ready_to_sell, settle

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


async def sh(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """subprocess.run off the event loop."""
    return await asyncio.to_thread(subprocess.run, *args, **kwargs)


async def place(
    api: Api, sid: int, offer: int, qty: int = 1, method: str = "cod", phone: str = "0912345678"
) -> dict[str, Any]:
    r = await api.client.post(
        f"/api/sessions/{sid}/orders",
        json=order_body(offer, qty, phone=phone, method=method),
        headers=key(),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def staff(api: Api, order_id: str, action: str) -> None:
    r = await api.client.post(f"/api/orders/{order_id}/{action}", headers=api.auth("admin"))
    assert r.status_code == 200, r.text


async def entries_of(api: Api, sid: int) -> list[Entry]:
    out: list[Entry] = []
    after = 0
    while True:
        r = await api.client.get(
            f"/api/sessions/{sid}/ledger", params={"after": after, "limit": 1000}
        )
        assert r.status_code == 200, r.text
        page = [Entry.from_mapping(e) for e in r.json()["entries"]]
        out += page
        if len(page) < 1000:
            return out
        after = page[-1].seq


async def assert_fold_equals_stats_and_head(api: Api, sid: int) -> dict[str, int]:
    """The downloaded ledger recomputes, and its fold is what /stats and /ledger/head say."""
    entries = await entries_of(api, sid)
    check = verify_chain(entries)
    assert check.ok, check
    totals = fold(entries).totals().as_dict()
    stats = (await api.client.get(f"/api/sessions/{sid}/stats")).json()
    head = (await api.client.get(f"/api/sessions/{sid}/ledger/head")).json()
    assert {k: stats[k] for k in totals} == totals
    assert head["totals"] == totals
    assert (head["count"], head["head_hash"]) == (check.count, check.head_hash)
    return totals


async def second_session_on_lot(api: Api, lot_id: int) -> dict[str, Any]:
    session = (
        await api.client.post(
            "/api/sessions", json={"title": "Phiên hai"}, headers=api.auth("host")
        )
    ).json()
    sid = session["id"]
    await ready_to_sell(api, sid, lot_id)
    r = await api.client.post(
        f"/api/sessions/{sid}/offers",
        json={
            "lot_id": lot_id,
            "title": "Thùng 5 kg",
            "pack_grams": 5000,
            "price": 250_000,
            "code": "VL5",
        },
        headers=api.auth("host"),
    )
    assert r.status_code == 201, r.text
    assert (
        await api.client.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    ).status_code == 200
    return {"sid": sid, "offer": r.json()["id"]}


async def test_two_sessions_one_lot_count_their_own_orders(api: Api) -> None:
    """Selling one lot in two sessions: each session counts its own orders; the sum counts each once."""
    one = await live_session(api)
    two = await second_session_on_lot(api, one["lot_id"])
    a = await place(api, one["sid"], one["offers"]["VL10"], 2)  # 20 kg
    await place(api, one["sid"], one["offers"]["VL5"], 1)  # 5 kg
    b = await place(api, two["sid"], two["offer"], 3)  # 15 kg
    await staff(api, a["id"], "confirm")
    await staff(api, b["id"], "cancel")
    await place(api, two["sid"], two["offer"], 1, phone="0987654321")  # 5 kg
    t1 = await assert_fold_equals_stats_and_head(api, one["sid"])
    t2 = await assert_fold_equals_stats_and_head(api, two["sid"])
    assert (
        t1["sold_grams"],
        t1["confirmed_grams"],
        t1["unconfirmed_grams"],
        t1["orders_count"],
    ) == (25_000, 20_000, 5_000, 2)
    assert (t2["sold_grams"], t2["confirmed_grams"], t2["orders_count"]) == (5_000, 0, 1)
    s1 = (await api.client.get(f"/api/sessions/{one['sid']}/stats")).json()
    # The lot's stock figures (both sessions together) are only under lots[].
    [lot] = s1["lots"]
    assert lot["sold_grams"] == 30_000
    assert [r["sold_grams"] for r in s1["by_lot"]] == [25_000]
    assert [r["province_code"] for r in s1["provinces"]] == ["24"]
    everything = (await api.client.get("/api/ledger/totals")).json()
    assert everything["totals"]["sold_grams"] == 30_000
    assert everything["totals"]["confirmed_grams"] == 20_000
    assert sum(s["totals"]["sold_grams"] for s in everything["sessions"]) == 30_000


async def test_pages_limits_csv_and_unknown_sessions(api: Api) -> None:
    """Pages by seq with limit <= 1000 (422 beyond), CSV with the contract's columns, 404 for unknown."""
    s = await live_session(api)
    orders = [
        await place(api, s["sid"], s["offers"]["VL2"], 1, phone=f"09123456{i:02d}")
        for i in range(5)
    ]
    await staff(api, orders[0]["id"], "cancel")
    page = (
        await api.client.get(f"/api/sessions/{s['sid']}/ledger", params={"after": 2, "limit": 2})
    ).json()
    assert [e["seq"] for e in page["entries"]] == [3, 4]
    assert page["head"]["count"] == 6
    entry = page["entries"][0]
    assert set(entry) == {
        "seq",
        "ts",
        "event",
        "order_code",
        "offer_id",
        "lot_id",
        "cooperative_id",
        "grams",
        "amount",
        "province_code",
        "ward_code",
        "prev_hash",
        "hash",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["ts"])
    for bad in ({"limit": 1001}, {"limit": 0}, {"after": -1}, {"limit": "x"}):
        r = await api.client.get(f"/api/sessions/{s['sid']}/ledger", params=bad)
        assert r.status_code == 422, bad
    assert (
        await api.client.get(f"/api/sessions/{s['sid']}/ledger", params={"limit": 1000})
    ).status_code == 200
    for path in ("ledger", "ledger.csv", "ledger/head", "stats", "report.pdf"):
        r = await api.client.get(f"/api/sessions/99999/{path}")
        assert r.status_code == 404 and r.json()["error"]["code"], path
    csv_text = (await api.client.get(f"/api/sessions/{s['sid']}/ledger.csv")).text
    lines = csv_text.splitlines()
    assert (
        lines[0]
        == "seq,ts,event,order_code,offer_id,lot_id,cooperative_id,grams,amount,province_code,ward_code,prev_hash,hash"
    )
    assert len(lines) == 7 and lines[-1].startswith("6,") and ",cancelled," in lines[-1]
    # No personal data: the buyer's name, phone and street are nowhere in the ledger.
    for secret in ("Chị Hoa", "091234560", "Bãi Bông"):
        assert secret not in csv_text


async def test_end_seals_the_head_and_later_entries_keep_it(api: Api) -> None:
    """Ending a session seals its head; a later cancel extends the chain, the seal stays."""
    s = await live_session(api)
    a = await place(api, s["sid"], s["offers"]["VL5"], 2)
    await place(api, s["sid"], s["offers"]["VL5"], 1, phone="0987654321")
    assert (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()[
        "sealed_at"
    ] is None
    before = (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()
    assert (
        await api.client.post(f"/api/sessions/{s['sid']}/end", headers=api.auth("host"))
    ).status_code == 200
    sealed = (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()
    assert sealed["sealed_at"] and (sealed["sealed_count"], sealed["sealed_hash"]) == (
        2,
        before["head_hash"],
    )
    await staff(api, a["id"], "cancel")
    after = (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()
    assert after["count"] == 3 and after["head_hash"] != sealed["head_hash"]
    assert (after["sealed_count"], after["sealed_hash"], after["sealed_at"]) == (
        2,
        sealed["sealed_hash"],
        sealed["sealed_at"],
    )
    entries = await entries_of(api, s["sid"])
    assert entries[1].hash == sealed["sealed_hash"]


async def test_documented_python_and_js_scripts_recompute_a_real_ledger(
    api: Api, tmp_path: Path
) -> None:
    """The scripts in docs/transparency.md recompute the chain and totals of a downloaded ledger."""
    s = await live_session(api)
    a = await place(api, s["sid"], s["offers"]["VL10"], 1)
    b = await place(api, s["sid"], s["offers"]["VL5"], 1, phone="0987654321")
    await place(api, s["sid"], s["offers"]["VL2"], 3, phone="0987654322", method="bank_transfer")
    await staff(api, a["id"], "confirm")
    await staff(api, b["id"], "cancel")
    head = (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()
    want = {"count": head["count"], "head_hash": head["head_hash"], **head["totals"]}
    doc = (ROOT / "docs" / "transparency.md").read_text()
    python_src = re.search(r"```python\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]
    (tmp_path / "check.py").write_text(python_src)
    csv_path = tmp_path / "ledger.csv"
    csv_path.write_bytes((await api.client.get(f"/api/sessions/{s['sid']}/ledger.csv")).content)
    out = await sh(
        [sys.executable, str(tmp_path / "check.py"), str(csv_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == want
    # An edited grams column breaks the chain at that entry.
    rows = csv_path.read_text().splitlines()
    cells = rows[2].split(",")
    cells[7] = str(int(cells[7]) + 1000)
    rows[2] = ",".join(cells)
    csv_path.write_text("\n".join(rows) + "\n")
    out = await sh(
        [sys.executable, str(tmp_path / "check.py"), str(csv_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "seq 2" in out.stderr
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the JavaScript script was not run")
    js_src = re.search(r"```javascript\n(.*?)```", doc, re.S).group(1)  # type: ignore[union-attr]
    pages = (
        await api.client.get(f"/api/sessions/{s['sid']}/ledger", params={"limit": 1000})
    ).json()
    (tmp_path / "page.json").write_text(json.dumps(pages))
    # The script fetches pages; a stand-in fetch serves the page this test downloaded.
    shim = "globalThis.fetch = async () => ({ json: async () => JSON.parse((await import('node:fs')).readFileSync(process.env.PAGE, 'utf8')) });\n"
    (tmp_path / "check.mjs").write_text(shim + js_src)
    out = await sh(
        ["node", str(tmp_path / "check.mjs"), "http://x", str(s["sid"])],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PAGE": str(tmp_path / "page.json"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == want


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm, pdftotext) missing"
)
async def test_report_pdf_renders_with_vietnamese_text_and_totals(api: Api, tmp_path: Path) -> None:
    """The report renders to PNG and its text has the Vietnamese product name, totals and seal."""
    s = await live_session(api)
    a = await place(api, s["sid"], s["offers"]["VL10"], 3)  # 30 kg
    await place(api, s["sid"], s["offers"]["VL5"], 1, phone="0987654321")  # 5 kg
    await staff(api, a["id"], "confirm")
    who = {
        "full_name": "Nguyễn Văn Thắng",
        "id_number": "024090001234",
        "organisation": "UBND xã Lục Ngạn",
    }
    put = await api.client.put(
        f"/api/sessions/{s['sid']}/streamer", json=who, headers=api.auth("host")
    )
    assert put.status_code == 200, put.text
    await api.client.post(f"/api/sessions/{s['sid']}/end", headers=api.auth("host"))
    stats = (await api.client.get(f"/api/sessions/{s['sid']}/stats")).json()
    assert stats["streamer"]["full_name"] == "Nguyễn Văn Thắng"
    assert "024090001234" not in str(stats)
    r = await api.client.get(f"/api/sessions/{s['sid']}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.content)
    ARTIFACTS.mkdir(exist_ok=True)
    png = await sh(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "report")],
        capture_output=True,
        timeout=60,
    )
    assert png.returncode == 0, png.stderr
    assert list(ARTIFACTS.glob("report*.png"))
    text = (
        await sh(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60
        )
    ).stdout
    head = (await api.client.get(f"/api/sessions/{s['sid']}/ledger/head")).json()
    assert "Vải thiều" in text and "Phiên vải" in text
    assert "Nguyễn Văn Thắng — UBND xã Lục Ngạn" in text
    assert "Sản lượng đã xác nhận: 30 kg" in text
    assert "35 kg" in text and "5 kg" in text
    assert "1.690.000 ₫" in text  # 3 x 480.000 + 250.000
    assert head["sealed_hash"] in text.replace("\n", "")


async def test_expired_and_refunded_orders_leave_the_totals(api: Api) -> None:
    """An expired transfer and a refunded card leave sold and confirmed; fold == stats == head."""
    s = await live_session(api)
    t = await place(api, s["sid"], s["offers"]["VL5"], 1, method="bank_transfer")
    p = await place(
        api, s["sid"], s["offers"]["VL2"], 1, method="bank_transfer", phone="0987654321"
    )
    await staff(api, p["id"], "confirm")  # transfer received: paid
    store = api.app.state.services.orders.store
    await store.expire_due(datetime.now(UTC) + timedelta(hours=2))
    payments = SqlPaymentLedger(api.app.state.services.engine, store.transitions)
    await payments.apply_payment_event("evt-refund-1", "test", "refund", p["id"], Event.REFUND)
    await settle(api)
    totals = await assert_fold_equals_stats_and_head(api, s["sid"])
    assert totals == {
        "sold_grams": 0,
        "confirmed_grams": 0,
        "unconfirmed_grams": 0,
        "orders_count": 0,
        "revenue": 0,
    }
    events = [e.event.value for e in await entries_of(api, s["sid"])]
    assert sorted(events) == ["expired", "paid", "placed", "placed", "refunded"]
    assert t["status"] == "pending_payment"
