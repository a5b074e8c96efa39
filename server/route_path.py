"""The path an ASGI scope routes on: its `path` less the `root_path` a proxy mounted it under.

The two lanes that answer before FastAPI's router (the live socket's door and the placing
lane) must match exactly what the router would, so they read the path the same way.
"""

from __future__ import annotations

from starlette.types import Scope


def route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path") or ""
    return path[len(root) :] if root and path.startswith(root) else path
