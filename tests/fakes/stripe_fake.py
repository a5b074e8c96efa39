"""An in-process fake of the slice of Stripe's API that farmlive uses, as a stripe HTTPClient.

stripe-python talks to it exactly as to api.stripe.com (form-encoded requests, JSON
answers, `Idempotency-Key` headers, its own retries), with no network. Implemented:
Checkout Sessions (create, retrieve, expire) and Refunds (create), with Stripe's
idempotency rules: a key replays its first answer, and the same key with other
parameters is refused. Fault knobs: `fail(path, "500")` answers 500 without doing the
work; `fail(path, "400")` refuses it; `fail(path, "lost")` does the work and drops the
answer (the client sees a connection error and retries with the same key). Webhook
helpers build events as Stripe sends them and sign them with a `t=...,v1=...` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

Answer = tuple[bytes, int, dict[str, str]]


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # "500" or "lost"
    times: int


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    nested: dict[str, Any] = listify(root)
    return nested


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.param = status, kind, message, param


def _integer(value: Any, param: str) -> int:
    # Form values are text; Stripe wants an integer, and "250000.0" is not one.
    if not isinstance(value, str) or not value.isdigit():
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}", param)
    return int(value)


class FakeStripe(stripe.HTTPClient):
    name = "fake-stripe"

    def __init__(self, webhook_secret: str = "whsec_test_secret") -> None:
        super().__init__()
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}  # by payment intent
        self.calls: list[tuple[str, str, str | None]] = []  # (method, path, idempotency key)
        self.applied: list[tuple[str, str]] = []  # requests that did their work
        self._answers: dict[str, tuple[str, Answer]] = {}
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self.closed = False

    # -- knobs ------------------------------------------------------------------------
    def fail(self, path: str, kind: str, *, times: int = 1, method: str = "post") -> None:
        """Make the next `times` matching requests fail: "500" or "400" (not applied), "lost"."""
        assert kind in ("500", "400", "lost")
        self._faults.append(Fault(method, path, kind, times))

    def _fault(self, method: str, path: str) -> str | None:
        for fault in self._faults:
            if fault.times > 0 and fault.method == method and path.startswith(fault.path):
                fault.times -= 1
                return fault.kind
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):020d}"

    # -- the HTTPClient interface -----------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        raise NotImplementedError("farmlive uses stripe's async methods only")

    def sleep_async(self, secs: float) -> Any:
        return asyncio.sleep(0)  # retries back off in real life; tests need not wait

    async def close_async(self) -> None:
        self.closed = True

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> Answer:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        params = _nest(parse_qsl(body if method == "post" else parts.query))
        key = headers.get("Idempotency-Key") if method == "post" else None
        self.calls.append((method, parts.path, key))
        fault = self._fault(method, parts.path)
        if fault == "500":
            return self._error(StripeError(500, "api_error", "fake outage"))
        if fault == "400":
            return self._error(StripeError(400, "invalid_request_error", "fake refusal"))
        answer = self._answer(method, parts.path, params, key, body)
        if fault == "lost":
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                "connection reset by peer (fake)", should_retry=True
            )
        return answer

    def _answer(
        self, method: str, path: str, params: dict[str, Any], key: str | None, body: str
    ) -> Answer:
        fingerprint = hashlib.sha256(f"{method} {path} {body}".encode()).hexdigest()
        if key is not None and key in self._answers:
            seen, (content, status, rheaders) = self._answers[key]
            if seen != fingerprint:
                return self._error(
                    StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    )
                )
            return content, status, {**rheaders, "Idempotent-Replayed": "true"}
        try:
            answer = self._json(200, self._route(method, path, params))
            self.applied.append((method, path))
        except StripeError as exc:
            answer = self._error(exc)
        if key is not None:
            self._answers[key] = (fingerprint, answer)
        return answer

    def _json(self, status: int, obj: Any) -> Answer:
        return json.dumps(obj).encode(), status, {"Request-Id": self._id("req")}

    def _error(self, exc: StripeError) -> Answer:
        error = {"type": exc.kind, "message": exc.message}
        if exc.param:
            error["param"] = exc.param
        return self._json(exc.status, {"error": error})

    # -- the API ----------------------------------------------------------------------
    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        segments = path.strip("/").split("/")
        if method == "post" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        if segments[:3] == ["v1", "checkout", "sessions"] and len(segments) >= 4:
            session = self.sessions.get(segments[3])
            if session is None:
                raise StripeError(404, "invalid_request_error", "No such checkout.session")
            if method == "get" and len(segments) == 4:
                return session
            if method == "post" and segments[4:] == ["expire"]:
                if session["status"] != "open":
                    raise StripeError(
                        400,
                        "invalid_request_error",
                        'Only Checkout Sessions with a status in ["open"] can be expired.',
                    )
                session["status"] = "expired"
                return session
        if method == "post" and path == "/v1/refunds":
            return self._create_refund(params)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({path})")

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeError(400, "invalid_request_error", "mode must be payment", "mode")
        if not params.get("success_url"):
            raise StripeError(400, "invalid_request_error", "Missing success_url", "success_url")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise StripeError(400, "invalid_request_error", "Missing line_items", "line_items")
        total, currency = 0, None
        for item in items:
            price = item["price_data"]
            currency = price["currency"]
            unit = _integer(price["unit_amount"], "line_items[0][price_data][unit_amount]")
            total += unit * _integer(item["quantity"], "line_items[0][quantity]")
        expires_at = _integer(params.get("expires_at", ""), "expires_at")
        lifetime = expires_at - int(time.time())
        if not 30 * 60 <= lifetime <= 24 * 3600:
            raise StripeError(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from now.",
                "expires_at",
            )
        session_id = self._id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": currency,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "expires_at": expires_at,
            "locale": params.get("locale"),
            "success_url": params["success_url"],
            "_params": params,  # what the client sent, for assertions
            "_payment_intent_metadata": (params.get("payment_intent_data") or {}).get(
                "metadata", {}
            ),
        }
        self.sessions[session_id] = session
        return session

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        payment_intent = params.get("payment_intent")
        charge = self.charges.get(payment_intent or "")
        if charge is None:
            raise StripeError(
                400, "invalid_request_error", "No such payment_intent", "payment_intent"
            )
        amount = _integer(params.get("amount", str(charge["amount"])), "amount")
        if amount > charge["amount"] - charge["amount_refunded"]:
            raise StripeError(
                400, "invalid_request_error", "Refund amount is greater than the charge", "amount"
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "payment_intent": payment_intent,
            "charge": charge["id"],
            "status": "succeeded",
            "metadata": params.get("metadata", {}),
        }
        self.refunds[refund["id"]] = refund
        return refund

    # -- what a buyer does on Stripe's page -------------------------------------------
    def pay(self, session_id: str) -> dict[str, Any]:
        """The buyer pays the session by card: it completes, with a PaymentIntent and Charge."""
        session = self.sessions[session_id]
        assert session["status"] == "open", session["status"]
        session.update(status="complete", payment_status="paid")
        session["payment_intent"] = self._id("pi")
        self.charges[session["payment_intent"]] = {
            "id": self._id("ch"),
            "object": "charge",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
            "refunded": False,
            "metadata": dict(session["_payment_intent_metadata"]),
        }
        return session

    def session_for(self, order_id: str) -> dict[str, Any]:
        [session] = [s for s in self.sessions.values() if s["client_reference_id"] == order_id]
        return session

    # -- webhooks ---------------------------------------------------------------------
    def event(self, event_type: str, obj: Mapping[str, Any], event_id: str | None = None) -> bytes:
        """An event body as Stripe posts it (compact JSON, public fields only)."""
        public = {k: v for k, v in obj.items() if not k.startswith("_")}
        return json.dumps(
            {
                "id": event_id or self._id("evt"),
                "object": "event",
                "api_version": "2026-10-28.endive",
                "created": int(time.time()),
                "type": event_type,
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": public},
            },
            separators=(",", ":"),
        ).encode()

    def sign(self, body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
        """The Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, f"{t}.{body}")."""
        return str(
            stripe.WebhookSignature.generate_signature_header(
                body.decode(), secret or self.webhook_secret, timestamp
            )
        )

    def charge_event(self, event_type: str, payment_intent: str, **fields: Any) -> bytes:
        charge = self.charges[payment_intent]
        if event_type == "charge.dispute.created":
            return self.event(
                event_type,
                {
                    "id": self._id("dp"),
                    "object": "dispute",
                    "amount": charge["amount"],
                    "currency": charge["currency"],
                    "charge": charge["id"],
                    "payment_intent": payment_intent,
                    "reason": fields.get("reason", "fraudulent"),
                    "status": "needs_response",
                    "metadata": {},
                },
            )
        return self.event(event_type, {**charge, **fields})
