"""Province and ward/commune pickers: the 34 provinces and 3,321 wards after the 2025 reform."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shop.address import provinces, wards

router = APIRouter(prefix="/api/geo", tags=["geo"])
# The list changes by resolution of the National Assembly, not by the hour.
_CACHE = "public, max-age=86400"


@router.get("/provinces")
async def list_provinces(response: Response) -> list[dict[str, object]]:
    response.headers["Cache-Control"] = _CACHE
    return [{"code": code, "name": name} for code, name in provinces()]


@router.get("/provinces/{code}/wards")
async def list_wards(code: int, response: Response) -> list[dict[str, object]]:
    response.headers["Cache-Control"] = _CACHE
    return [{"code": c, "name": name} for c, name in wards(code)]
