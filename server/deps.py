"""Annotated dependency aliases used by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.services import Services


async def get_services(request: Request) -> Services:
    # async: a sync dependency would cost every request a hop to the thread pool.
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
