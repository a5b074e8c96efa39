"""HTTP shapes for the compliance kit: livestreamer records, rules, complaints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.schemas.types import STRICT, Id, OptionalText, Text


class StreamerIn(BaseModel):
    model_config = STRICT
    full_name: Text(100)  # type: ignore[valid-type]
    # Citizen ID (CCCD, 12 digits), old ID (9) or a passport number.
    id_number: str = Field(pattern=r"^[0-9A-Z]{6,20}$")
    organisation: OptionalText(200) = None  # type: ignore[valid-type]
    position: OptionalText(100) = None  # type: ignore[valid-type]
    phone: str | None = Field(default=None, min_length=9, max_length=20)


class StreamerPublic(BaseModel):
    """What viewers see: who sells, for whom, and the ID number masked."""

    session_id: int
    full_name: str
    position: str | None
    organisation: str | None
    id_number: str


class StreamerStaff(StreamerPublic):
    phone: str | None
    recorded_at: datetime
    recorded_by: int | None


class RulesPublic(BaseModel):
    version: str
    vi: list[str]
    en: list[str]


class ComplaintCreate(BaseModel):
    model_config = STRICT
    session_id: Id | None = None
    order_id: str | None = Field(default=None, pattern=r"^[0-9a-f-]{36}$")
    name: Text(100)  # type: ignore[valid-type]
    phone: str = Field(min_length=9, max_length=20)
    text: Text(2000)  # type: ignore[valid-type]


class ComplaintReceived(BaseModel):
    id: int
    status: str
    created_at: datetime


class ComplaintPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    session_id: int | None
    order_id: str | None
    name: str
    phone: str
    text: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: int | None
    resolution: str | None


class ComplaintResolve(BaseModel):
    model_config = STRICT
    resolution: Text(1000)  # type: ignore[valid-type]
