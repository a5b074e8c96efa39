"""GhtkCarrier: Giao Hàng Tiết Kiệm's shipment API (services.giaohangtietkiem.vn), over httpx.

Requests carry the `Token` header (and `X-Client-Source`, the partner code, when set);
answers are `{"success": bool, "message": str, ...}`. The order id goes out as
`order.id`, unique per shop: a second create answers `error.code == "ORDER_ID_EXIST"`
with the `ghtk_label` made the first time, which is returned as the waybill. Weights go
out in kilograms (GHTK's unit), converted from grams here only. Status callbacks carry
the shop's `hash` (as a query value of the callback URL) and the `partner_id`; the hash is
checked in constant time.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from shop.carriers.port import (
    CarrierRefused,
    CarrierUnavailable,
    CarrierUpdate,
    DeliveryState,
    Parcel,
    Waybill,
)
from shop.payments.errors import InvalidWebhook

PRODUCTION_BASE = "https://services.giaohangtietkiem.vn"

# GHTK's status_id values ("Bảng trạng thái đơn hàng") reduced to ours.
_STATES: dict[int, DeliveryState] = {
    -1: DeliveryState.CANCELLED,
    1: DeliveryState.CREATED,
    2: DeliveryState.CREATED,
    12: DeliveryState.CREATED,
    8: DeliveryState.CREATED,
    7: DeliveryState.CREATED,  # could not pick up yet
    3: DeliveryState.IN_TRANSIT,
    4: DeliveryState.IN_TRANSIT,
    10: DeliveryState.IN_TRANSIT,
    9: DeliveryState.IN_TRANSIT,  # not delivered this time; GHTK tries again
    45: DeliveryState.IN_TRANSIT,
    5: DeliveryState.DELIVERED,
    6: DeliveryState.DELIVERED,
    20: DeliveryState.RETURNED,
    21: DeliveryState.RETURNED,
    11: DeliveryState.RETURNED,
}


def ghtk_state(status_id: int) -> DeliveryState:
    return _STATES.get(status_id, DeliveryState.UNKNOWN)


class GhtkCarrier:
    name = "ghtk"

    def __init__(
        self,
        *,
        token: str,
        webhook_hash: str,
        partner_code: str | None = None,
        pick: dict[str, str] | None = None,
        base_url: str = PRODUCTION_BASE,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        headers = {"Token": token}
        if partner_code:
            headers["X-Client-Source"] = partner_code
        self._hash = webhook_hash
        # Where GHTK picks the parcels up (the cooperative's warehouse).
        self._pick = pick or {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, transport=transport, timeout=timeout_s
        )

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"GHTK unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise CarrierUnavailable(f"GHTK answered {response.status_code}")
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise CarrierUnavailable("GHTK answered something that is not JSON") from exc
        return data

    async def create(self, parcel: Parcel) -> Waybill:
        kg = round(parcel.weight_grams / 1000, 3)  # GHTK's unit; grams everywhere else
        body = {
            "products": [{"name": parcel.content, "weight": kg, "quantity": 1}],
            "order": {
                "id": parcel.order_id,
                **{f"pick_{k}": v for k, v in self._pick.items()},
                "tel": parcel.to_phone,
                "name": parcel.to_name,
                "address": parcel.to_street,
                "province": parcel.to_province,
                "ward": parcel.to_ward,
                "hamlet": "Khác",
                "is_freeship": "1",  # the shop pays the fee
                "pick_money": parcel.cod_amount,
                "value": parcel.declared_value,
                "total_weight": kg,
                "note": parcel.order_code,
                "transport": "road",
            },
        }
        data = await self._call("POST", "/services/shipment/order/?ver=1.5", body)
        if data.get("success"):
            order = data.get("order") or {}
            label = str(order["label"])
            fee = order.get("fee")
            return Waybill(
                tracking=label, fee=int(fee) if fee else None, tracking_url=self.tracking_url(label)
            )
        error = data.get("error") or {}
        if error.get("code") == "ORDER_ID_EXIST" and error.get("ghtk_label"):
            label = str(error["ghtk_label"])
            return Waybill(tracking=label, tracking_url=self.tracking_url(label))
        raise CarrierRefused(f"GHTK refused the waybill: {str(data.get('message'))[:200]}")

    async def status(self, tracking: str) -> CarrierUpdate:
        data = await self._call("GET", f"/services/shipment/v2/{tracking}")
        if not data.get("success"):
            raise CarrierRefused(f"GHTK has no waybill {tracking}")
        order = data.get("order") or {}
        status_id = int(order.get("status", 0))
        return CarrierUpdate(
            tracking=tracking,
            state=ghtk_state(status_id),
            raw_status=str(order.get("status_text") or status_id),
            order_id=order.get("partner_id") or None,
        )

    async def cancel(self, tracking: str) -> None:
        data = await self._call("POST", f"/services/shipment/cancel/{tracking}")
        if not data.get("success"):
            raise CarrierRefused(
                f"GHTK did not cancel {tracking}: {str(data.get('message'))[:200]}"
            )

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> CarrierUpdate:
        """`headers` carries `x-farmlive-hash`: the `hash` query value of the callback URL."""
        given = headers.get("x-farmlive-hash", "")
        if not self._hash or not hmac.compare_digest(given.encode(), self._hash.encode()):
            raise InvalidWebhook("GHTK callback hash does not match")
        try:
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                data: dict[str, Any] = dict(parse_qsl(body.decode()))
            else:
                data = json.loads(body)
            label = str(data["label_id"])
            status_id = int(data["status_id"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise InvalidWebhook("not a GHTK status callback") from exc
        return CarrierUpdate(
            tracking=label,
            state=ghtk_state(status_id),
            raw_status=str(status_id),
            order_id=str(data.get("partner_id") or "") or None,
            event_id=f"ghtk:{label}:{status_id}:{data.get('action_time', '')}",
        )

    def tracking_url(self, tracking: str) -> str | None:
        return f"https://i.ghtk.vn/{tracking}"

    async def close(self) -> None:
        await self._http.aclose()
