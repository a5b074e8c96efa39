"""The web pages (static HTML + ES modules from web/) and the little config they read.

Each page is a static HTML file; its script reads the session or order id from the URL and
talks to the public API. `/api/client-config` tells the pages which optional pieces this
server has (live WebSocket, WHIP/WHEP relay, moderation, Stripe), so a page degrades
quietly instead of probing endpoints that are not there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match
from starlette.staticfiles import StaticFiles

from server.deps import ServicesDep
from server.http_headers import SecurityHeaders, origin_of
from server.schemas.types import PathId
from server.settings import Settings

# Editable installs and a source checkout: web/ sits beside server/.
WEB_DIR = Path(__file__).resolve().parents[2] / "web"

router = APIRouter(tags=["pages"])
_NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> FileResponse:
    return FileResponse(WEB_DIR / name, media_type="text/html; charset=utf-8", headers=_NO_CACHE)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def home_page() -> FileResponse:
    return _page("index.html")


@router.api_route("/live/{sid}", methods=["GET", "HEAD"], include_in_schema=False)
async def viewer_page(sid: PathId) -> FileResponse:
    return _page("live.html")


@router.api_route("/studio/{sid}", methods=["GET", "HEAD"], include_in_schema=False)
async def studio_page(sid: PathId) -> FileResponse:
    return _page("studio.html")


@router.api_route("/coop", methods=["GET", "HEAD"], include_in_schema=False)
async def coop_page() -> FileResponse:
    return _page("coop.html")


@router.api_route("/minh-bach", methods=["GET", "HEAD"], include_in_schema=False)
async def transparency_list_page() -> FileResponse:
    return _page("minh-bach.html")


@router.api_route("/minh-bach/{sid}", methods=["GET", "HEAD"], include_in_schema=False)
async def transparency_page(sid: PathId) -> FileResponse:
    return _page("minh-bach.html")


@router.api_route("/quy-dinh", methods=["GET", "HEAD"], include_in_schema=False)
async def rules_page() -> FileResponse:
    """The published livestream rules and the viewers' complaint form."""
    return _page("quy-dinh.html")


@router.api_route("/khieu-nai", methods=["GET", "HEAD"], include_in_schema=False)
async def complaints_page() -> FileResponse:
    """The staff inbox of viewers' complaints."""
    return _page("khieu-nai.html")


@router.api_route("/quan-tri", methods=["GET", "HEAD"], include_in_schema=False)
async def admin_page() -> FileResponse:
    """The staff console: cooperatives, accounts, the audit log."""
    return _page("quan-tri.html")


@router.api_route("/mat-khau", methods=["GET", "HEAD"], include_in_schema=False)
async def set_password_page() -> FileResponse:
    """Where a one-time set-password link lands (the token is in the fragment)."""
    return _page("mat-khau.html")


@router.api_route("/phien", methods=["GET", "HEAD"], include_in_schema=False)
async def host_page() -> FileResponse:
    """The host's sessions: create, schedule, streamer, moderators, offers."""
    return _page("phien.html")


@router.api_route("/dieu-phoi/{sid}", methods=["GET", "HEAD"], include_in_schema=False)
async def moderator_page(sid: int) -> FileResponse:
    """The moderator console of one session: chat moderation and the order desk."""
    return _page("dieu-phoi.html")


@router.api_route("/don-hang/{order_id}", methods=["GET", "HEAD"], include_in_schema=False)
async def order_page(order_id: str) -> FileResponse:
    return _page("order.html")


def _has_route(app: Starlette, kind: str, path: str, method: str = "GET") -> bool:
    """Whether a request of this kind would reach an endpoint (others add routes later)."""
    scope = {"type": kind, "path": path, "root_path": "", "method": method, "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


def _api_routes(app: FastAPI) -> list[str]:
    """'METHOD /path' for the session, order and chat endpoints in the OpenAPI schema."""
    out = []
    for path, item in app.openapi().get("paths", {}).items():
        if path.startswith(("/api/sessions/{", "/api/orders/{", "/api/chat")):
            out += [f"{method.upper()} {path}" for method in item if method != "parameters"]
    return sorted(out)


def client_config(settings: Settings, app: FastAPI) -> dict[str, Any]:
    external_media = bool(settings.media_url)
    return {
        "media_url": (settings.media_url or "").rstrip("/"),
        "ice_servers": settings.ice_servers,
        "features": {
            "live_ws": _has_route(app, "websocket", "/ws/sessions/1"),
            "whip": external_media or _has_route(app, "http", "/whip/1", "POST"),
            "whep": external_media or _has_route(app, "http", "/whep/1", "POST"),
            "stripe": settings.stripe_secret_key is not None,
        },
        # Staff pages pick their moderation, draft and payment endpoints from here.
        "routes": _api_routes(app),
    }


@router.get("/api/client-config", tags=["pages"])
async def get_client_config(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Which optional pieces this server has, and where media lives."""
    return client_config(services.settings, request.app)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the pages and /static, and put security headers on every response."""
    app.include_router(router)
    # Pages and scripts travel over weak 3G/4G: compress them (the API stays as it is).
    static = GZipMiddleware(StaticFiles(directory=WEB_DIR), minimum_size=600)
    app.mount("/static", static, name="static")
    media = origin_of(settings.media_url)
    app.add_middleware(SecurityHeaders, connect_origins=[media] if media else [])
