"""An in-process fake of Giao Hàng Tiết Kiệm's shipment API, as an httpx transport.

Shapes follow docs.giaohangtietkiem.vn:
- `POST /services/shipment/order/?ver=1.5` with header `Token`; JSON
  `{"products": [{"name", "weight" (kg), "quantity"}], "order": {"id", "tel", "name",
  "address", "province", "ward", "hamlet", "pick_money" (đồng), "value", "is_freeship",
  "total_weight" (kg), ...}}` -> `{"success": true, "message": "", "order": {"partner_id",
  "label", "area", "fee", "insurance_fee", "estimated_pick_time",
  "estimated_deliver_time", "status_id": 1}}`; a used `order.id` ->
  `{"success": false, "message": "...", "error": {"code": "ORDER_ID_EXIST",
  "partner_id", "ghtk_label", "created", "status"}}`.
- `GET /services/shipment/v2/{label}` -> `{"success": true, "order": {"label_id",
  "partner_id", "status", "status_text", ...}}`.
- `POST /services/shipment/cancel/{label}` -> `{"success": true, "message": ""}`.
- Callbacks (GHTK -> shop URL with `?hash=`): `{"label_id", "partner_id", "status_id",
  "action_time", "reason_code", "reason", "weight", "fee", "pick_money"}` (`callback`).
A wrong `Token` answers 401 `{"success": false, "message": "Token không hợp lệ"}`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from tests.fakes.carrier_faults import Faults, lost


class FakeGhtk:
    def __init__(self, token: str = "ghtk-token") -> None:
        self.token = token
        self.orders: dict[str, dict[str, Any]] = {}  # by label
        self.faults = Faults()
        self.creates = 0
        self._labels = (f"S1.A1.{n:09d}" for n in itertools.count(2001297581))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Token") != self.token:
            return httpx.Response(401, json={"success": False, "message": "Token không hợp lệ"})
        path = request.url.path.rstrip("/")
        fault = self.faults.take(path)
        if fault == "down":
            return httpx.Response(503, text="Service Unavailable")
        answer = self._route(request.method, path, request.content)
        if fault == "lost":
            raise lost(request)
        return answer

    def _route(self, method: str, path: str, content: bytes) -> httpx.Response:
        if method == "POST" and path == "/services/shipment/order":
            return self._create(json.loads(content or b"{}"))
        if method == "GET" and path.startswith("/services/shipment/v2/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return httpx.Response(200, json={"success": False, "message": "Không tìm thấy"})
            return httpx.Response(200, json={"success": True, "message": "", "order": {
                "label_id": order["label"], "partner_id": order["id"],
                "status": str(order["status_id"]), "status_text": order["status_text"],
                "pick_money": order["pick_money"],
            }})  # fmt: skip
        if method == "POST" and path.startswith("/services/shipment/cancel/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None or order["status_id"] not in (1, 2):
                return httpx.Response(200, json={"success": False, "message": "Không hủy được"})
            order["status_id"], order["status_text"] = -1, "Hủy đơn hàng"
            return httpx.Response(200, json={"success": True, "message": ""})
        return httpx.Response(404, json={"success": False, "message": "not found"})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        self.creates += 1
        order = body.get("order") or {}
        products = body.get("products") or []
        if not order.get("id") or not order.get("tel") or not products:
            return httpx.Response(200, json={"success": False, "message": "Thiếu thông tin"})
        if not isinstance(order.get("pick_money"), int):
            return httpx.Response(200, json={"success": False, "message": "pick_money"})
        for existing in self.orders.values():
            if existing["id"] == order["id"]:
                return httpx.Response(200, json={"success": False, "message": "Mã đơn đã tồn tại",
                    "error": {"code": "ORDER_ID_EXIST", "partner_id": order["id"],
                              "ghtk_label": existing["label"], "created": "2026-12-01 10:03:35",
                              "status": existing["status_id"]}})  # fmt: skip
        label = next(self._labels)
        self.orders[label] = {**order, "products": products, "label": label, "status_id": 1,
                              "status_text": "Chưa tiếp nhận"}  # fmt: skip
        return httpx.Response(200, json={"success": True, "message": "", "order": {
            "partner_id": order["id"], "label": label, "area": "1", "fee": "30400",
            "insurance_fee": "0", "estimated_pick_time": "Sáng 2026-12-02",
            "estimated_deliver_time": "Chiều 2026-12-03", "products": [], "status_id": 1,
        }})  # fmt: skip

    def callback(
        self, label: str, status_id: int, *, action_time: str = "2026-12-02T09:00:00+07:00"
    ) -> bytes:
        """The JSON body GHTK posts to the shop's callback URL when `label` changes."""
        order = self.orders[label]
        order["status_id"] = status_id
        return json.dumps({
            "label_id": label, "partner_id": order["id"], "status_id": status_id,
            "action_time": action_time, "reason_code": "", "reason": "",
            "weight": order["total_weight"], "fee": 30400, "pick_money": order["pick_money"],
        }).encode()  # fmt: skip
