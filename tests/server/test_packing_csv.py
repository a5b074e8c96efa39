"""The packing CSV: Vietnamese headers and statuses, the order code, phones as text, and
no cell a spreadsheet would run as a formula, whichever column the text is in."""

from __future__ import annotations

import csv
import io
import re

from server.packing_csv import COLUMNS, escape_cell
from tests.conftest import Api
from tests.server.orders_helpers import key, order_body, ready_to_sell

EVIL = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", " =1"]


def test_escape_cell_neutralises_every_formula_start() -> None:
    """Every formula start, even after spaces or full-width, gets a leading apostrophe."""
    for value in [*EVIL, "＝1", "\r=1"]:
        assert escape_cell(value).startswith("'"), value
    assert escape_cell("Vải thiều") == "Vải thiều"
    assert escape_cell(None) == ""


async def test_every_free_text_column_is_escaped(api: Api) -> None:
    """Formulas typed into the session title, product, offer code, name and address: none
    survives in any column; phones keep their leading 0; headers and status in Vietnamese."""
    c = api.client
    cid = (await c.get("/api/cooperatives")).json()[0]["id"]
    lot = await c.post(
        "/api/lots",
        json={"cooperative_id": cid, "product": "=cmd|'/c calc'!A0", "stock_grams": 10**6},
        headers=api.auth("coop"),
    )
    sid = (
        await c.post("/api/sessions", json={"title": "@SUM(1+1)"}, headers=api.auth("host"))
    ).json()["id"]
    await ready_to_sell(api, sid, lot.json()["id"])
    offer = await c.post(
        f"/api/sessions/{sid}/offers",
        json={"lot_id": lot.json()["id"], "title": "+Thùng", "pack_grams": 5000,
              "price": 250_000, "code": "-X5"},
        headers=api.auth("host"),
    )  # fmt: skip
    assert offer.status_code == 201, offer.text
    await c.post(f"/api/sessions/{sid}/start", headers=api.auth("host"))
    body = order_body(offer.json()["id"], 2)
    body["buyer"]["name"] = '=HYPERLINK("http://x")'
    body["buyer"]["address"]["street"] = "-2+3 Thôn Bãi"
    body["buyer"]["address"]["typed"] = "=1+1 Xã Cũ, Huyện Lục Ngạn"  # the old line, as typed
    placed = await c.post(f"/api/sessions/{sid}/orders", json=body, headers=key())
    assert placed.status_code == 201, placed.text
    r = await c.get(f"/api/cooperatives/{cid}/orders.csv", headers=api.auth("coop"))
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == [name for name, _ in COLUMNS]
    record = dict(zip(rows[0], rows[1], strict=True))
    for (name, kind), cell in zip(COLUMNS, rows[1], strict=True):
        if kind == "phone":
            assert re.fullmatch(r'="0\d{9}"', cell), cell
        else:
            assert not cell or cell[0] not in "=+-@\t\r", (name, cell)
    assert record["Phiên live"] == "'@SUM(1+1)"
    assert record["Khách ghi"] == "'=1+1 Xã Cũ, Huyện Lục Ngạn"
    assert record["Sản phẩm"].startswith("'=")
    assert record["Mã sản phẩm"] == "'-X5"
    assert record["Người nhận"].startswith("'=")
    assert record["Địa chỉ"] == "'-2+3 Thôn Bãi"
    assert record["Số điện thoại"] == '="0912345678"'
    assert record["Mã đơn"] == placed.json()["code"]
    assert record["Trạng thái"] == "Chờ xác nhận"
    assert record["Thanh toán"] == "Tiền mặt khi nhận hàng"
    assert (record["Số lượng"], record["Khối lượng (kg)"], record["Thành tiền (₫)"]) == (
        "2",
        "10",
        "500000",
    )
