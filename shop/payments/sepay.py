"""SePay's bank-transaction webhook: verify it on the raw request, read it into a transfer.

SePay (my.sepay.vn, "Webhooks") POSTs one JSON object per bank transaction to the URL
the operator configured, with `Authorization: Apikey <key>` when API-key auth is chosen:
`{"id": 92704, "gateway": "Vietcombank", "transactionDate": "2023-03-25 14:02:37",
"accountNumber": "0123499999", "code": null, "content": "...", "transferType": "in",
"transferAmount": 2277000, "accumulated": 19077000, "subAccount": null,
"referenceCode": "MBVCB.3278907687", "description": ""}`. It expects HTTP 200/201 with
`{"success": true}` and retries otherwise, so a repeated `id` must change nothing.
SePay's PyPI packages (`sepay`, `sepay-pg`) cover its payment-gateway checkout, not these
transaction webhooks, so the few fields are read here directly.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from shop.payments.errors import InvalidWebhook


@dataclass(frozen=True, slots=True)
class IncomingTransfer:
    """A verified bank transaction as the service reported it (amount in đồng)."""

    id: str  # "<provider>:<provider transaction id>": the dedup key
    provider: str
    amount: int
    content: str
    incoming: bool  # transferType "in"; outgoing money is recorded and ignored
    bank_reference: str | None
    code: str | None  # the payment code SePay itself recognised, when configured


def parse_sepay(body: bytes, authorization: str | None, api_key: str) -> IncomingTransfer:
    """Check the API key before reading the body; InvalidWebhook when either is wrong."""
    scheme, _, given = (authorization or "").partition(" ")
    if (
        not api_key
        or scheme.lower() != "apikey"
        or not hmac.compare_digest(given.strip().encode(), api_key.encode())
    ):
        raise InvalidWebhook("SePay API key does not match")
    try:
        data = json.loads(body)
        tx_id = int(data["id"])
        amount = data["transferAmount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ValueError("transferAmount must be whole đồng")
        kind = str(data["transferType"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhook("not a SePay transaction") from exc
    return IncomingTransfer(
        id=f"sepay:{tx_id}",
        provider="sepay",
        amount=amount,
        content=str(data.get("content") or data.get("description") or "")[:500],
        incoming=kind == "in",
        bank_reference=str(data.get("referenceCode") or "")[:100] or None,
        code=str(data.get("code") or "") or None,
    )
