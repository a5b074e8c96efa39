"""In-process fakes of Zalo ZNS and eSMS.vn, as httpx transports.

- Zalo ZNS: `POST /message/template` (business.openapi.zalo.me), header `access_token`;
  JSON `{"phone": "84...", "template_id", "template_data": {...}, "tracking_id"}` ->
  `{"error": 0, "message": "Success", "data": {"msg_id", "sent_time", "quota":
  {"dailyQuota", "remainingQuota"}}}`; a wrong token -> `{"error": -124, "message":
  "Access token is invalid"}`; a phone without Zalo -> `{"error": -118, ...}`.
- eSMS.vn: `POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`, JSON `{"ApiKey",
  "SecretKey", "Phone", "Content", "Brandname", "SmsType", "IsUnicode", "RequestId"}` ->
  `{"CodeResult": "100", "CountRegenerate": 0, "SMSID": "..."}`; bad keys ->
  `{"CodeResult": "101", "ErrorMessage": "Authorize Failed"}`; a repeated RequestId is
  accepted and not sent again.
Both take the `Faults` knobs ("down", "lost") by path.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from tests.fakes.carrier_faults import Faults, lost

NO_ZALO = "84900000000"


class FakeZalo:
    path = "/message/template"

    def __init__(self, token: str = "oa-token") -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.faults = Faults()
        self._ids = itertools.count(1)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.take(request.url.path)
        if fault == "down":
            return httpx.Response(502, text="Bad Gateway")
        if request.headers.get("access_token") != self.token:
            return httpx.Response(200, json={"error": -124, "message": "Access token is invalid"})
        body = json.loads(request.content)
        if body.get("phone") == NO_ZALO:
            return httpx.Response(200, json={"error": -118, "message": "Zalo account not existed"})
        msg_id = f"zns{next(self._ids)}"
        self.sent.append({**body, "msg_id": msg_id})
        answer = httpx.Response(200, json={"error": 0, "message": "Success", "data": {
            "msg_id": msg_id, "sent_time": "1733040000000",
            "quota": {"dailyQuota": "500", "remainingQuota": "499"}}})  # fmt: skip
        if fault == "lost":
            raise lost(request)
        return answer


class FakeEsms:
    path = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"

    def __init__(self, api_key: str = "esms-key", secret_key: str = "esms-secret") -> None:
        self.keys = (api_key, secret_key)
        self.sent: list[dict[str, Any]] = []
        self.faults = Faults()
        self._ids = itertools.count(1)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.take(request.url.path)
        if fault == "down":
            return httpx.Response(503, text="Service Unavailable")
        body = json.loads(request.content)
        if (body.get("ApiKey"), body.get("SecretKey")) != self.keys:
            return httpx.Response(
                200, json={"CodeResult": "101", "ErrorMessage": "Authorize Failed"}
            )
        known = next((s for s in self.sent if s["RequestId"] == body.get("RequestId")), None)
        if known is None:
            known = {**body, "SMSID": f"sms-{next(self._ids)}"}
            self.sent.append(known)
        answer = httpx.Response(
            200, json={"CodeResult": "100", "CountRegenerate": 0, "SMSID": known["SMSID"]}
        )
        if fault == "lost":
            raise lost(request)
        return answer
