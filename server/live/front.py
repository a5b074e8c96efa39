"""The live socket's own door: `/ws/sessions/{sid}` goes straight to the gateway.

Every ASGI layer a connection passes through stays on its stack for as long as the
socket is open: FastAPI's router, its exit stacks, Starlette's exception wrappers and
our HTTP middlewares (which all pass WebSockets through untouched) cost an idle viewer
about 12 KiB of coroutine frames, scope copies and deques. `FarmliveApp` answers the
live path itself, before that stack, so an idle viewer holds only the gateway's frames.
Anything else (and a live path the route would refuse, say sid 0) takes the normal way;
the FastAPI route stays for those and for the API docs.

The server's own `send` arrives here unwrapped, so the direct sink (sinks.DirectSink)
needs no capture middleware on this path.

The app also puts the placing lane (server/placing_lane.py) between the middlewares and
the router; `placing_lane = False` before the first request leaves it out (tests compare).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.live.capture import RAW_SEND
from server.route_path import route_path

LIVE_PATH = re.compile(r"/ws/sessions/([1-9][0-9]{0,9})")
MAX_SID = 2**31 - 1  # PathId's bound


def live_session_id(scope: Scope) -> int | None:
    """The session of a live-socket scope, or None (not the live path, or an id the
    route would refuse)."""
    if scope["type"] != "websocket":
        return None
    match = LIVE_PATH.fullmatch(route_path(scope))
    if match is None:
        return None
    sid = int(match.group(1))
    return sid if sid <= MAX_SID else None


class FarmliveApp(FastAPI):
    placing_lane = True

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if not self.placing_lane:
            return stack
        from server.placing_lane import PlacingLane  # it imports the routes

        # Innermost, right above the router: every middleware and exception handler stays.
        layer: Any = stack
        while layer.app is not self.router:
            layer = layer.app
        layer.app = PlacingLane(self.router)
        return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sid = live_session_id(scope)
        if sid is None or not hasattr(self.state, "live_gateway"):
            await super().__call__(scope, receive, send)
            return
        from server.live.gateway import serve_live  # the gateway imports the routes' views

        scope["app"] = self
        extensions = scope.get("extensions")
        if extensions is None:
            scope["extensions"] = extensions = {}
        extensions[RAW_SEND] = send
        await serve_live(WebSocket(scope, receive, send), sid, self.state.live_gateway)
