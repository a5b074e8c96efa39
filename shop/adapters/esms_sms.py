"""EsmsSms: SMS through eSMS.vn's JSON API (brand-name customer-care messages).

`POST https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/` with JSON
`{"ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType": "2", "IsUnicode": "0",
"RequestId"}`; answer `{"CodeResult": "100", "CountRegenerate": 0, "SMSID": "..."}`.
`CodeResult` "100" is accepted; "99" (unknown error) and "103" (balance) are worth a retry
later; anything else ("101" auth, "104" brand name, ...) will not improve by retrying.
`RequestId` (our dedup key) makes eSMS drop a second copy of the same request.
"""

from __future__ import annotations

import httpx

from shop.notify.port import Message, NotifierRefused, NotifierUnavailable
from shop.notify.texts import message_text, plain_ascii

PRODUCTION_URL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"

_RETRY = {"99", "103"}


class EsmsSms:
    name = "esms"

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        brandname: str,
        url: str = PRODUCTION_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._auth = {"ApiKey": api_key, "SecretKey": secret_key, "Brandname": brandname}
        self._url = url
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout_s)

    async def send(self, message: Message) -> str:
        body = {
            **self._auth,
            "Phone": message.phone,
            "Content": plain_ascii(message_text(message)),
            "SmsType": "2",  # brand-name customer care
            "IsUnicode": "0",
            "RequestId": message.dedup_key[:50],
        }
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise NotifierUnavailable(f"eSMS unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise NotifierUnavailable(f"eSMS answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise NotifierUnavailable("eSMS answered something that is not JSON") from exc
        code = str(data.get("CodeResult"))
        if code == "100":
            return str(data.get("SMSID", ""))
        detail = f"eSMS CodeResult {code}: {str(data.get('ErrorMessage', ''))[:150]}"
        if code in _RETRY:
            raise NotifierUnavailable(detail)
        raise NotifierRefused(detail)

    async def close(self) -> None:
        await self._http.aclose()
