"""SePay's bank-transaction webhook deliveries, built as SePay sends them.

SePay (my.sepay.vn -> Webhooks, API-key auth) POSTs to the configured URL with
`Authorization: Apikey <key>` and `Content-Type: application/json`, one transaction per
request: `{"id", "gateway", "transactionDate", "accountNumber", "code", "content",
"transferType": "in" | "out", "transferAmount", "accumulated", "subAccount",
"referenceCode", "description"}`; it expects a 2xx with `{"success": true}`.
"""

from __future__ import annotations

import itertools
import json

_ids = itertools.count(92704)


def transaction(
    content: str, amount: int, *, tx_id: int | None = None, kind: str = "in"
) -> dict[str, object]:
    tx = next(_ids) if tx_id is None else tx_id
    return {
        "id": tx,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-01 14:02:37",
        "accountNumber": "0011001234567",
        "code": None,
        "content": content,
        "transferType": kind,
        "transferAmount": amount,
        "accumulated": 19_077_000,
        "subAccount": None,
        "referenceCode": f"MBVCB.{3278907687 + tx}",
        "description": f"BankAPINotify {content}",
    }


def delivery(tx: dict[str, object], api_key: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook delivery."""
    return json.dumps(tx).encode(), {
        "Authorization": f"Apikey {api_key}",
        "Content-Type": "application/json",
    }
