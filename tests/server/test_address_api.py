"""The address API: ward search, the old-address converter, and what orders record."""

from __future__ import annotations

import csv
import io

from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body


async def test_ward_search_ignores_diacritics(api: Api) -> None:
    """`q` finds wards by their words typed with or without diacritics."""
    plain = (await api.client.get("/api/geo/provinces/24/wards", params={"q": "phuong chu"})).json()
    marked = (await api.client.get("/api/geo/provinces/24/wards", params={"q": "Chũ"})).json()
    assert {"code": 7525, "name": "Phường Chũ"} in plain
    assert plain == [w for w in marked if w in plain]
    everything = (await api.client.get("/api/geo/provinces/24/wards")).json()
    assert len(plain) < len(everything)


async def test_convert_single_split_and_unknown(api: Api) -> None:
    """One successor converts; a split commune lists its successors; nonsense is unrecognised."""
    r = await api.client.get(
        "/api/geo/convert", params={"address": "Phường Hoàng Văn Thụ, TP Lạng Sơn, Lạng Sơn"}
    )
    assert r.status_code == 200
    assert r.json()["match"] == "converted"
    assert r.json()["ward"] == {"code": 6187, "name": "Phường Kỳ Lừa"}
    split = (
        await api.client.get(
            "/api/geo/convert",
            params={"address": "xa viet hung, h. dong anh", "province": "Hà Nội"},
        )
    ).json()
    assert split["match"] == "unrecognised" and split["ward"] is None
    assert {c["name"] for c in split["candidates"]} == {"Xã Đông Anh", "Xã Thư Lâm"}
    assert split["province"]["code"] == 1
    unknown = (
        await api.client.get("/api/geo/convert", params={"address": "Xã Nào Đó, Atlantis"})
    ).json()
    assert unknown["match"] == "unrecognised" and unknown["province"] is None
    assert (await api.client.get("/api/geo/convert")).status_code == 422


async def test_order_records_typed_text_and_how_it_resolved(api: Api) -> None:
    """An old address converts on the order; buyer view, staff JSON and CSV all show it."""
    s = await live_session(api)
    body = order_body(s["offers"]["VL5"])
    body["buyer"]["address"] = {
        "province": "Lạng Sơn",
        "ward": "Phường Hoàng Văn Thụ, TP Lạng Sơn",
        "street": "Số 5",
    }
    placed = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=key())
    assert placed.status_code == 201, placed.text
    address = placed.json()["buyer"]["address"]
    assert address == {
        "province": "Lạng Sơn",
        "ward": "Phường Kỳ Lừa",
        "street": "Số 5",
        "province_code": 20,
        "ward_code": 6187,
        "match": "converted",
        "typed": "Phường Hoàng Văn Thụ, TP Lạng Sơn, Lạng Sơn",
    }
    staff = (
        await api.client.get(f"/api/cooperatives/{s['coop_id']}/orders", headers=api.auth("coop"))
    ).json()
    assert staff[0]["buyer"]["address"] == address
    r = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/orders.csv", headers=api.auth("coop")
    )
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    record = dict(zip(rows[0], rows[1], strict=True))
    # The packing CSV's Vietnamese headers (server/packing_csv.py).
    assert (record["Phường/Xã"], record["Mã phường/xã"], record["Khớp địa chỉ"]) == (
        "Phường Kỳ Lừa",
        "6187",
        "Đã chuyển từ địa chỉ cũ",
    )
    assert record["Khách ghi"] == "Phường Hoàng Văn Thụ, TP Lạng Sơn, Lạng Sơn"


async def test_picked_candidate_keeps_the_old_line(api: Api) -> None:
    """A ward picked from a split commune's candidates is exact, the old line kept beside it."""
    s = await live_session(api)
    body = order_body(s["offers"]["VL5"])
    body["buyer"]["address"] = {
        "province": "1",
        "ward": "475",
        "street": "Thôn Đoài",
        "typed": "Xã Việt Hùng, Huyện Đông Anh, Hà Nội",
    }
    placed = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=key())
    assert placed.status_code == 201, placed.text
    address = placed.json()["buyer"]["address"]
    assert (address["ward"], address["ward_code"], address["match"]) == ("Xã Thư Lâm", 475, "exact")
    assert address["typed"] == "Xã Việt Hùng, Huyện Đông Anh, Hà Nội"
    # A split commune typed straight into the order is kept as typed, with no ward code.
    body["buyer"]["address"] = {
        "province": "Hà Nội",
        "ward": "Xã Việt Hùng, Huyện Đông Anh",
        "street": "x",
    }
    kept = await api.client.post(f"/api/sessions/{s['sid']}/orders", json=body, headers=key())
    address = kept.json()["buyer"]["address"]
    assert (address["ward_code"], address["match"]) == (None, "unrecognised")
    assert address["ward"] == "Xã Việt Hùng, Huyện Đông Anh"
