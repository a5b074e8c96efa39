"""HTTP shapes for placing and reading orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from server.schemas.types import STRICT, Id, Text


class AddressIn(BaseModel):
    model_config = STRICT
    province: Text(100)  # type: ignore[valid-type]
    ward: Text(100)  # type: ignore[valid-type]
    street: Text(200)  # type: ignore[valid-type]


class BuyerIn(BaseModel):
    model_config = STRICT
    name: Text(100)  # type: ignore[valid-type]
    phone: str = Field(min_length=9, max_length=20)
    address: AddressIn


class OrderCreate(BaseModel):
    # The example is the docs' sample and the API fuzzer's starting point (tests/server).
    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "examples": [
                {
                    "offer_id": 1,
                    "quantity": 1,
                    "buyer": {
                        "name": "Chị Hoa",
                        "phone": "0912345678",
                        "address": {
                            "province": "Bắc Ninh",
                            "ward": "Phường Chũ",
                            "street": "Thôn Bãi Bông",
                        },
                    },
                    "payment_method": "cod",
                }
            ]
        },
    )
    offer_id: Id
    quantity: StrictInt = Field(ge=1, le=1000)
    buyer: BuyerIn
    payment_method: Literal["cod", "bank_transfer", "stripe"] = "cod"


class OrderPublic(BaseModel):
    id: str
    code: str  # the short code buyers are shown (8 unambiguous letters and digits)
    session_id: int
    offer_id: int
    lot_id: int
    status: str
    quantity: int
    grams: int
    unit_price: int
    total: int
    currency: str
    hold_expires_at: datetime | None
    created_at: datetime
    buyer: dict[str, Any]
    payment: dict[str, Any]


class OrderCreated(OrderPublic):
    token: str


class SessionStatsPublic(BaseModel):
    sold_grams: int
    held_grams: int
    available_grams: int
    orders_count: int
    cancelled_count: int
    revenue: int
    currency: Literal["VND"] = "VND"
    lots: list[dict[str, Any]]
    cooperatives: list[dict[str, Any]]
