"""The web pages' server side: pages, static files, headers, geo pickers, dashboard reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.routes.pages import WEB_DIR, client_config
from tests.conftest import Api
from tests.server.orders_helpers import key, live_session, order_body

PAGES = ["/", "/live/1", "/studio/1", "/coop", "/minh-bach", "/minh-bach/1", "/don-hang/abc"]
VIEWER_BUDGET = 150 * 1024
_IMPORT = re.compile(r"""(?:import|from)\s*(?:[\w*{}\s,]*from\s*)?["'](\./[\w.-]+\.js)["']""")


async def test_pages_are_html_with_strict_security_headers(api: Api) -> None:
    """Every page is served as HTML with the CSP, nosniff, same-origin referrer, no framing."""
    for path in PAGES:
        r = await api.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, (path, directive)
        assert "connect-src 'self' ws://testserver wss://testserver" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


async def test_api_answers_keep_their_headers_and_docs_keep_working(api: Api) -> None:
    """API JSON gets nosniff too; the Swagger page gets a CSP with scripts from 'self' only."""
    r = await api.client.get("/api/sessions")
    assert r.headers["x-content-type-options"] == "nosniff"
    docs = await api.client.get("/api/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp


async def test_api_docs_work_offline(api: Api) -> None:
    """The docs page names no outside URL, has no inline script, and every asset answers 200."""
    text = (await api.client.get("/api/docs")).text
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert any(r.endswith("swagger-ui-bundle.js") for r in refs)
    assert any(r.endswith("swagger-ui.css") for r in refs)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = await api.client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    starter = (await api.client.get("/static/js/api-docs.js")).text
    assert "/api/openapi.json" in text and "validatorUrl: null" in starter
    assert (await api.client.get("/api/openapi.json")).status_code == 200
    # Only the files the page loads: not the wheel's other files.
    assert (await api.client.get("/api/docs/assets/redoc.standalone.js")).status_code == 404
    assert (await api.client.get("/api/docs/assets/..%2F..%2F__init__.py")).status_code == 404


async def test_static_files_are_served_and_compressed(api: Api) -> None:
    """/static serves the scripts with a JS type, gzipped for weak links; unknown files 404."""
    r = await api.client.get("/static/js/viewer.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.headers.get("content-encoding") == "gzip"
    assert (await api.client.get("/static/js/nope.js")).status_code == 404


async def test_geo_lists_34_provinces_and_3321_wards(api: Api) -> None:
    """The pickers get every province and, province by province, all 3,321 wards."""
    provinces = (await api.client.get("/api/geo/provinces")).json()
    assert len(provinces) == 34
    assert {"code": 24, "name": "Thành phố Bắc Ninh"} in provinces
    total = 0
    for p in provinces:
        wards = (await api.client.get(f"/api/geo/provinces/{p['code']}/wards")).json()
        total += len(wards)
    assert total == 3321
    bad = await api.client.get("/api/geo/provinces/999/wards")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_province"


async def test_cooperative_orders_json_has_the_csv_access_rules(api: Api) -> None:
    """The coop sees its own orders as JSON; another coop, a host or nobody do not."""
    s = await live_session(api)
    r = await api.client.post(
        f"/api/sessions/{s['sid']}/orders", json=order_body(s["offers"]["VL5"], 2), headers=key()
    )
    assert r.status_code == 201
    url = f"/api/cooperatives/{s['coop_id']}/orders"
    mine = await api.client.get(url, headers=api.auth("coop"))
    assert mine.status_code == 200
    [row] = mine.json()
    assert (row["id"], row["grams"], row["status"], row["offer_code"]) == (
        r.json()["id"],
        10_000,
        "placed",
        "VL5",
    )
    assert row["buyer"]["phone"] == "0912345678"  # staff need the full number to call
    assert (await api.client.get(url, headers=api.auth("coop2"))).status_code == 403
    assert (await api.client.get(url, headers=api.auth("host"))).status_code == 403
    assert (await api.client.get(url)).status_code == 401
    sessions = await api.client.get(
        f"/api/cooperatives/{s['coop_id']}/sessions", headers=api.auth("coop")
    )
    assert [x["id"] for x in sessions.json()] == [s["sid"]]


async def test_session_orders_for_the_host_and_moderators_only(api: Api) -> None:
    """The studio's order list: the session's host and moderators, not another host."""
    s = await live_session(api)
    for phone in ("0912345678", "0987654321"):
        r = await api.client.post(
            f"/api/sessions/{s['sid']}/orders",
            json=order_body(s["offers"]["VL2"], 1, phone=phone),
            headers=key(),
        )
        assert r.status_code == 201
    url = f"/api/sessions/{s['sid']}/orders"
    rows = (await api.client.get(url, headers=api.auth("host"))).json()
    assert len(rows) == 2 and rows[0]["created_at"] >= rows[1]["created_at"]
    assert (await api.client.get(url + "?limit=1", headers=api.auth("moderator"))).json()[0][
        "id"
    ] == rows[0]["id"]
    assert (await api.client.get(url, headers=api.auth("host2"))).status_code == 403


async def test_client_config_reports_pieces_that_exist(api: Api) -> None:
    """Features follow the routes really mounted: absent pieces read false, added ones true."""
    from fastapi import FastAPI, WebSocket

    app = api.app
    assert isinstance(app, FastAPI)
    config = (await api.client.get("/api/client-config")).json()
    assert set(config["features"]) == {"live_ws", "whip", "whep", "stripe"}
    assert "POST /api/sessions/{sid}/pin" in config["routes"]
    probe = FastAPI()

    @probe.websocket("/ws/sessions/{sid}")
    async def ws(websocket: WebSocket, sid: int) -> None:  # pragma: no cover - never called
        await websocket.close()

    @probe.post("/whep/{sid}")
    async def whep(sid: int) -> None:  # pragma: no cover - never called
        return None

    features = client_config(app.state.settings, probe)["features"]
    assert features["live_ws"] and features["whep"] and not features["whip"]


def _viewer_files() -> list[Path]:
    html = (WEB_DIR / "live.html").read_text(encoding="utf-8")
    assets = re.findall(r'(?:src|href)="/static/([\w/.-]+\.(?:js|css))"', html)
    seen: list[Path] = []
    todo = [WEB_DIR / a for a in assets]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        if path.suffix == ".js":
            text = path.read_text(encoding="utf-8")
            todo += [path.parent / m for m in _IMPORT.findall(text)]
    return seen


def test_viewer_page_weight_is_within_budget() -> None:
    """The viewer page's own HTML, JS and CSS (every import followed) stay under 150 KB."""
    files = _viewer_files()
    names = {p.name for p in files}
    assert {"viewer.js", "app.css", "order-sheet.js", "media.js", "i18n.js"} <= names
    assert {"viewer.css", "calendar.js"} <= names
    total = sum(p.stat().st_size for p in files) + (WEB_DIR / "live.html").stat().st_size
    assert total <= VIEWER_BUDGET, f"{total} bytes: {sorted(names)}"


def test_no_html_injection_sinks_and_no_inline_code() -> None:
    """Scripts never write HTML (chat is text only); pages have no inline script or style."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(")
    for js in (WEB_DIR / "js").glob("*.js"):
        assert not sinks.search(js.read_text(encoding="utf-8")), js.name
    for page in WEB_DIR.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page.name
        assert "<style" not in text and " style=" not in text, page.name
        assert not re.search(r"\son\w+=", text), page.name
        assert "http://" not in text and "https://" not in text, page.name


def test_english_strings_match_the_vietnamese_ones() -> None:
    """Every Vietnamese UI string has an English twin and the reverse."""
    text = (WEB_DIR / "js" / "strings.js").read_text(encoding="utf-8")
    vi_part, en_part = text.split("\n  en: {", 1)
    keys = re.compile(r"^\s{4}(\w+):", re.MULTILINE)
    vi, en = keys.findall(vi_part), keys.findall(en_part)
    assert len(vi) > 100 and len(vi) == len(set(vi))
    assert set(vi) == set(en)


@pytest.mark.parametrize("page", sorted(p.name for p in WEB_DIR.glob("*.html")))
def test_pages_reference_only_files_that_exist(page: str) -> None:
    """Every /static/ reference in a page points at a shipped file."""
    text = (WEB_DIR / page).read_text(encoding="utf-8")
    for ref in re.findall(r'"/static/([^"]+)"', text):
        assert (WEB_DIR / ref).is_file(), ref
