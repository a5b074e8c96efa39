"""GhnCarrier: Giao Hàng Nhanh's v2 public API (api.ghn.vn), over httpx.

Requests are JSON POSTs under `{base}/v2/...` with the `Token` and `ShopId` headers;
answers are `{"code": 200, "message": "Success", "data": {...}}`. The order id goes out as
`client_order_code`, which GHN keeps unique per shop: when a create is refused (a retry
after a lost answer), the waybill is looked up by that code before giving up, so one
order never gets two waybills. GHN's status callbacks carry no signature: the callback
URL holds a secret (`?secret=`), checked in constant time, and the body's `ShopID` must
be ours.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

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

PRODUCTION_BASE = "https://online-gateway.ghn.vn/shiip/public-api"

# GHN's statuses (api.ghn.vn "Order status") reduced to ours.
_STATES: dict[str, DeliveryState] = {
    "ready_to_pick": DeliveryState.CREATED,
    "picking": DeliveryState.CREATED,
    "money_collect_picking": DeliveryState.CREATED,
    "picked": DeliveryState.IN_TRANSIT,
    "storing": DeliveryState.IN_TRANSIT,
    "transporting": DeliveryState.IN_TRANSIT,
    "sorting": DeliveryState.IN_TRANSIT,
    "delivering": DeliveryState.IN_TRANSIT,
    "money_collect_delivering": DeliveryState.IN_TRANSIT,
    "delivery_fail": DeliveryState.IN_TRANSIT,  # GHN tries again before returning
    "delivered": DeliveryState.DELIVERED,
    "waiting_to_return": DeliveryState.RETURNED,
    "return": DeliveryState.RETURNED,
    "return_transporting": DeliveryState.RETURNED,
    "return_sorting": DeliveryState.RETURNED,
    "returning": DeliveryState.RETURNED,
    "returned": DeliveryState.RETURNED,
    "cancel": DeliveryState.CANCELLED,
}


def ghn_state(status: str) -> DeliveryState:
    return _STATES.get(status, DeliveryState.UNKNOWN)


class GhnCarrier:
    name = "ghn"

    def __init__(
        self,
        *,
        token: str,
        shop_id: int,
        webhook_secret: str,
        base_url: str = PRODUCTION_BASE,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._shop_id = shop_id
        self._secret = webhook_secret
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Token": token, "ShopId": str(shop_id)},
            transport=transport,
            timeout=timeout_s,
        )

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            response = await self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"GHN unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise CarrierUnavailable(f"GHN answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise CarrierUnavailable("GHN answered something that is not JSON") from exc
        return int(data.get("code", response.status_code)), data

    async def create(self, parcel: Parcel) -> Waybill:
        body = {
            "payment_type_id": 1,  # the shop pays the fee; the buyer pays cod_amount
            "required_note": "CHOXEMHANGKHONGTHU",  # buyer may look, not try
            "client_order_code": parcel.order_id,
            "to_name": parcel.to_name,
            "to_phone": parcel.to_phone,
            "to_address": f"{parcel.to_street}, {parcel.to_ward}, {parcel.to_province}",
            "to_ward_name": parcel.to_ward,
            "to_province_name": parcel.to_province,
            "cod_amount": parcel.cod_amount,
            "insurance_value": parcel.declared_value,
            "content": parcel.content,
            "weight": parcel.weight_grams,  # GHN takes grams
            "service_type_id": 2,  # e-commerce delivery
            "items": [{"name": parcel.content, "quantity": 1, "weight": parcel.weight_grams}],
            "note": parcel.order_code,
        }
        code, data = await self._post("/v2/shipping-order/create", body)
        if code == 200:
            out = data.get("data") or {}
            fee = out.get("total_fee")
            return Waybill(
                tracking=str(out["order_code"]),
                fee=int(fee) if fee is not None else None,
                tracking_url=self.tracking_url(str(out["order_code"])),
            )
        # Refused: maybe because this order already has its waybill (a retried create).
        existing = await self._by_client_code(parcel.order_id)
        if existing is not None:
            return Waybill(tracking=existing, tracking_url=self.tracking_url(existing))
        raise CarrierRefused(f"GHN refused the waybill: {str(data.get('message'))[:200]}")

    async def _by_client_code(self, order_id: str) -> str | None:
        code, data = await self._post(
            "/v2/shipping-order/detail-by-client-code", {"client_order_code": order_id}
        )
        if code != 200 or not data.get("data"):
            return None
        return str(data["data"]["order_code"])

    async def status(self, tracking: str) -> CarrierUpdate:
        code, data = await self._post("/v2/shipping-order/detail", {"order_code": tracking})
        if code != 200:
            raise CarrierRefused(f"GHN has no waybill {tracking}")
        out = data.get("data") or {}
        raw = str(out.get("status", ""))
        return CarrierUpdate(
            tracking=tracking,
            state=ghn_state(raw),
            raw_status=raw,
            order_id=out.get("client_order_code") or None,
        )

    async def cancel(self, tracking: str) -> None:
        code, data = await self._post("/v2/switch-status/cancel", {"order_codes": [tracking]})
        results = data.get("data") or []
        if code != 200 or not any(r.get("result") for r in results):
            raise CarrierRefused(f"GHN did not cancel {tracking}: {str(data.get('message'))[:200]}")

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> CarrierUpdate:
        """`headers` carries `x-farmlive-secret`: the `secret` query value of the callback URL."""
        given = headers.get("x-farmlive-secret", "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            raise InvalidWebhook("GHN callback secret does not match")
        try:
            data = json.loads(body)
            shop = int(data.get("ShopID", -1))
            tracking = str(data["OrderCode"])
            raw = str(data["Status"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidWebhook("not a GHN status callback") from exc
        if shop != self._shop_id:
            raise InvalidWebhook("GHN callback for another shop")
        return CarrierUpdate(
            tracking=tracking,
            state=ghn_state(raw),
            raw_status=raw,
            order_id=str(data.get("ClientOrderCode") or "") or None,
            event_id=f"ghn:{tracking}:{raw}:{data.get('Time', '')}",
        )

    def tracking_url(self, tracking: str) -> str | None:
        return f"https://donhang.ghn.vn/?order_code={tracking}"

    async def close(self) -> None:
        await self._http.aclose()
