"""/api/docs: Swagger UI served from the `fastapi-offline` wheel's files instead of a CDN.

FastAPI's built-in page loads its script and CSS from jsDelivr and starts Swagger UI with an
inline script; here the page is a static file (web/api-docs.html) whose starter script lives
in web/js, so the docs work with no network beyond this server and under a CSP that allows
no inline script (server/http_headers.py gives the page its own policy).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Only its static files are used (Swagger UI 5, which reads OpenAPI 3.1), not its app class:
# that one starts Swagger UI with an inline script, which the CSP refuses.
_BUNDLE = Path(fastapi_offline.__file__).resolve().parent / "static"
# Only what the page loads; the wheel also holds ReDoc, which we do not serve.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


@router.api_route("/api/docs", methods=["GET", "HEAD"])
async def api_docs() -> FileResponse:
    return FileResponse(
        WEB_DIR / "api-docs.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@router.api_route("/api/docs/assets/{name}", methods=["GET", "HEAD"])
async def api_docs_asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404)
    # The wheel is pinned, so a file's content only changes with an upgrade: cache a day.
    return FileResponse(
        _BUNDLE / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
