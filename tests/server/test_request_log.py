"""Request ids and JSON log lines: ids echoed, no personal data in the access line."""

from __future__ import annotations

import json
import logging

from server.request_log import JsonFormatter
from tests.conftest import Api


async def test_request_id_is_echoed_or_made(api: Api) -> None:
    """A sane incoming X-Request-ID is echoed; otherwise a fresh one is made."""
    r = await api.client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"})
    assert r.headers["x-request-id"] == "abc12345-trace"
    r = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\x7f"})
    assert len(r.headers["x-request-id"]) == 32 and r.headers["x-request-id"] != "bad id"
    r = await api.client.get("/api/nothing")
    assert r.status_code == 404 and r.headers["x-request-id"]


async def test_access_line_is_json_without_query_or_body(api: Api, caplog) -> None:
    """The access line carries method, path, status and the id, never the query string."""
    caplog.set_level(logging.INFO, logger="farmlive.access")
    r = await api.client.get(
        "/api/orders/some-id",
        params={"token": "secret-buyer-token"},
        headers={"X-Request-ID": "trace-0001"},
    )
    records = [rec for rec in caplog.records if rec.name == "farmlive.access"]
    assert records, "one access line per request"
    line = json.loads(JsonFormatter().format(records[-1]))
    assert (line["method"], line["path"], line["status"]) == (
        "GET",
        "/api/orders/some-id",
        r.status_code,
    )
    assert line["request_id"] == "trace-0001"
    assert "secret-buyer-token" not in json.dumps(line)
