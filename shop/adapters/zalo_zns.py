"""ZaloZns: Zalo Notification Service template messages through an Official Account.

`POST https://business.openapi.zalo.me/message/template` with header
`access_token: <OA access token>` and JSON `{"phone": "84912345678", "template_id": "...",
"template_data": {...}, "tracking_id": "..."}`; answer `{"error": 0, "message": "Success",
"data": {"msg_id", "sent_time", "quota": {...}}}`; any other `error` is a failure (negative
codes). Templates are approved by Zalo beforehand, one per event, their ids configured
(`FARMLIVE_ZALO_TEMPLATES`); the template's parameter names are our params' names.
"""

from __future__ import annotations

import httpx

from shop.notify.port import Message, NotifierRefused, NotifierUnavailable, international

PRODUCTION_URL = "https://business.openapi.zalo.me/message/template"

# ZNS errors that no retry can fix: invalid phone, no Zalo account, cannot receive ZNS.
_FOR_GOOD = {-108, -118, -119}


class ZaloZns:
    name = "zalo_zns"

    def __init__(
        self,
        *,
        access_token: str,
        templates: dict[str, str],
        url: str = PRODUCTION_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._templates = templates
        self._url = url
        self._http = httpx.AsyncClient(
            headers={"access_token": access_token}, transport=transport, timeout=timeout_s
        )

    async def send(self, message: Message) -> str:
        template = self._templates.get(message.event.value)
        if template is None:
            raise NotifierRefused(f"no ZNS template configured for {message.event.value}")
        body = {
            "phone": international(message.phone),
            "template_id": template,
            "template_data": dict(message.params),
            "tracking_id": message.dedup_key[:48],
        }
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise NotifierUnavailable(f"Zalo unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise NotifierUnavailable(f"Zalo answered {response.status_code}")
        try:
            data = response.json()
            error = int(data.get("error", -1))
        except (ValueError, TypeError) as exc:
            raise NotifierUnavailable("Zalo answered something that is not JSON") from exc
        if error == 0:
            return str((data.get("data") or {}).get("msg_id", ""))
        if error in _FOR_GOOD:
            raise NotifierRefused(f"ZNS refused: {error} {str(data.get('message'))[:150]}")
        # Token expired, quota, Zalo-side trouble: the operator can fix it; keep trying.
        raise NotifierUnavailable(f"ZNS error {error}: {str(data.get('message'))[:150]}")

    async def close(self) -> None:
        await self._http.aclose()
