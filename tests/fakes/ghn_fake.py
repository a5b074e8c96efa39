"""An in-process fake of Giao Hàng Nhanh's v2 API, as an httpx transport.

Shapes follow api.ghn.vn (shiip/public-api):
- `POST /v2/shipping-order/create` with headers `Token`, `ShopId`; JSON body with
  `client_order_code`, `to_name`, `to_phone`, `to_address`, `to_ward_name`,
  `to_province_name`, `cod_amount` (đồng), `weight` (grams), `service_type_id`,
  `payment_type_id`, `required_note`, `items`. Answer `{"code": 200, "message": "Success",
  "data": {"order_code", "sort_code", "total_fee", "expected_delivery_time", ...}}`; a
  used `client_order_code` answers `{"code": 400, "message": "...", "data": null}`.
- `POST /v2/shipping-order/detail` `{"order_code"}` and
  `POST /v2/shipping-order/detail-by-client-code` `{"client_order_code"}` ->
  `{"code": 200, "data": {"order_code", "client_order_code", "status", ...}}`.
- `POST /v2/switch-status/cancel` `{"order_codes": [...]}` ->
  `{"code": 200, "data": [{"order_code", "result": true, "message": "OK"}]}`.
- Callbacks (GHN -> shop): JSON `{"CODAmount", "ClientOrderCode", "OrderCode", "ShopID",
  "Status", "Type": "switch_status", "Time", "Weight", ...}` (see `callback`).
A wrong `Token`/`ShopId` answers 401 `{"code": 401, "message": "Token is not valid"}`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from tests.fakes.carrier_faults import Faults, lost


class FakeGhn:
    def __init__(self, token: str = "ghn-token", shop_id: int = 885) -> None:
        self.token, self.shop_id = token, shop_id
        self.orders: dict[str, dict[str, Any]] = {}  # by order_code
        self.faults = Faults()
        self.creates = 0  # create calls that reached the fake
        self._codes = (f"GHN{n:06d}" for n in itertools.count(1))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/shiip/public-api")
        if request.headers.get("Token") != self.token or request.headers.get("ShopId") != str(
            self.shop_id
        ):
            return httpx.Response(401, json={"code": 401, "message": "Token is not valid"})
        fault = self.faults.take(path)
        if fault == "down":
            return httpx.Response(503, text="Service Unavailable")
        body = json.loads(request.content or b"{}")
        answer = self._route(path, body)
        if fault == "lost":
            raise lost(request)
        return answer

    def _route(self, path: str, body: dict[str, Any]) -> httpx.Response:
        if path == "/v2/shipping-order/create":
            return self._create(body)
        if path == "/v2/shipping-order/detail":
            order = self.orders.get(body.get("order_code", ""))
            return self._detail(order)
        if path == "/v2/shipping-order/detail-by-client-code":
            code = body.get("client_order_code")
            order = next((o for o in self.orders.values() if o["client_order_code"] == code), None)
            return self._detail(order)
        if path == "/v2/switch-status/cancel":
            out = []
            for code in body.get("order_codes", []):
                order = self.orders.get(code)
                ok = order is not None and order["status"] in ("ready_to_pick", "picking")
                if ok and order is not None:
                    order["status"] = "cancel"
                out.append({"order_code": code, "result": ok, "message": "OK" if ok else "NO"})
            return httpx.Response(200, json={"code": 200, "message": "Success", "data": out})
        return httpx.Response(404, json={"code": 404, "message": "not found"})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        self.creates += 1
        missing = [k for k in ("to_name", "to_phone", "to_address", "weight") if not body.get(k)]
        if (
            missing
            or not isinstance(body.get("weight"), int)
            or not isinstance(body.get("cod_amount", 0), int)
        ):
            return httpx.Response(
                400, json={"code": 400, "message": f"invalid {missing}", "data": None}
            )
        code = body.get("client_order_code")
        if code and any(o["client_order_code"] == code for o in self.orders.values()):
            return httpx.Response(
                400,
                json={"code": 400, "message": "Mã đơn hàng khách hàng đã tồn tại", "data": None},
            )
        order_code = next(self._codes)
        self.orders[order_code] = {**body, "order_code": order_code, "status": "ready_to_pick"}
        data = {
            "order_code": order_code,
            "sort_code": "19-24-06",
            "trans_type": "truck",
            "total_fee": 33000,
            "expected_delivery_time": "2026-12-03T16:00:00Z",
        }
        return httpx.Response(200, json={"code": 200, "message": "Success", "data": data})

    def _detail(self, order: dict[str, Any] | None) -> httpx.Response:
        if order is None:
            return httpx.Response(
                400, json={"code": 400, "message": "Order not found", "data": None}
            )
        return httpx.Response(200, json={"code": 200, "message": "Success", "data": order})

    def callback(
        self, order_code: str, status: str, *, time: str = "2026-12-02T09:00:00Z"
    ) -> bytes:
        """The JSON body GHN posts to the shop's callback URL when `order_code` changes."""
        order = self.orders[order_code]
        order["status"] = status
        return json.dumps(
            {
                "CODAmount": order.get("cod_amount", 0),
                "ClientOrderCode": order.get("client_order_code"),
                "OrderCode": order_code,
                "ShopID": self.shop_id,
                "Status": status,
                "Type": "switch_status",
                "Time": time,
                "Weight": order.get("weight"),
            }
        ).encode()
