"""The placing lane: `POST /api/sessions/{sid}/orders` without FastAPI's request handling.

FastAPI's per-request work for the placing route (matching about forty routes, reading the
content type, solving the body and the dependant, the exit stacks) costs more than the
order itself. The lane sits inside every middleware (request ids and the access line, the
body limit, security headers, the exception middleware that maps errors through
server/errors.py) and in front of the router only, so each of those still applies. It
takes a request only when it is sure of FastAPI's answer up to the endpoint: the exact
path (an id the route refuses is the 404 of server/errors.py), a JSON content type, a
valid Idempotency-Key and a body that `OrderCreate` accepts; then it calls the route's own
`place` (rate limits, client ip behind trusted proxies, device cookie, the placing
service, the same JSON answer) and any error it raises reaches the same exception
handlers as the route's. Everything else, a bad body included, goes to the router with
the body it already read replayed, so FastAPI gives today's answer.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.route_path import route_path
from server.routes.orders import _KEY, _SID, _param, place
from server.schemas.orders import OrderCreate

PLACE_PATH = re.compile(r"/api/sessions/([^/]+)/orders")  # the router's `{sid}`


def placing_sid(scope: Scope) -> str | None:
    """The path's session id as written, for a placing request; else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    match = PLACE_PATH.fullmatch(route_path(scope))
    return None if match is None else match.group(1)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that hands the already-read body out once more, then the real stream."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class PlacingLane:
    """Pure ASGI: the placing request straight to `place`; anything else to `router`."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        segment = placing_sid(scope)
        if segment is None:
            await self.router(scope, receive, send)
            return
        # An id that cannot exist is a 404 whatever the body (server/errors.py), as when
        # FastAPI checked the path with the body; the route reads it after the body.
        sid: int = _param(_SID, segment, ("path", "sid"))
        request = Request(scope, receive, send)
        headers = request.headers
        key = headers.get("idempotency-key")
        # Only the plain JSON type: FastAPI's parsing of other spellings stays its own.
        if headers.get("content-type") != "application/json" or key is None:
            await self.router(scope, receive, send)
            return
        try:
            idempotency_key: str = _KEY.validate_python(key)
        except ValidationError:
            await self.router(scope, receive, send)
            return
        try:
            raw = await request.body()
        except HTTPException:
            raise  # the body limit's 413, rendered by server/errors.py as for the route
        except Exception as exc:  # a client gone mid-body: FastAPI's own answer
            raise HTTPException(400, "There was an error parsing the body") from exc
        try:
            body = OrderCreate.model_validate_json(raw) if raw else None
        except ValidationError:
            body = None
        if body is None:
            await self.router(scope, _replay(raw, receive), send)
            return
        response = await place(request, body, sid, idempotency_key)
        await response(scope, receive, send)
