"""Province and ward/commune pickers (the 34 provinces and 3,321 wards after the 2025
reform) and the old-address converter the order sheet's "địa chỉ cũ" mode uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from shop.address import Resolution, convert_old_address, provinces, wards

router = APIRouter(prefix="/api/geo", tags=["geo"])
# The list changes by resolution of the National Assembly, not by the hour.
_CACHE = "public, max-age=86400"


@router.get("/provinces")
async def list_provinces(response: Response) -> list[dict[str, object]]:
    response.headers["Cache-Control"] = _CACHE
    return [{"code": code, "name": name} for code, name in provinces()]


@router.get("/provinces/{code}/wards")
async def list_wards(
    code: int,
    response: Response,
    q: Annotated[str, Query(max_length=100, description="words, diacritics optional")] = "",
) -> list[dict[str, object]]:
    """A province's wards by name; `q` keeps those whose name contains its words
    ("phuong chu", "chũ")."""
    response.headers["Cache-Control"] = _CACHE
    return [{"code": c, "name": name} for c, name in wards(code, q)]


@router.get("/convert")
async def convert(
    response: Response,
    address: Annotated[str, Query(min_length=1, max_length=300)],
    province: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """An old (pre-July-2025) address -> its official successor ward (`converted`), a 2025
    ward (`exact`), or `unrecognised` with the candidate wards to pick from."""
    response.headers["Cache-Control"] = _CACHE
    return resolution_view(convert_old_address(address.strip(), province or None))


def resolution_view(found: Resolution) -> dict[str, Any]:
    a = found.address
    return {
        "match": a.match,
        "typed": a.typed,
        "province": {"code": a.province_code, "name": a.province_name} if a.province_code else None,
        "ward": {"code": a.ward_code, "name": a.ward_name} if a.ward_code is not None else None,
        "candidates": [{"code": c, "name": n} for c, n in found.candidates],
    }
