"""HTTP shapes for live chat moderation and the staff's intent queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from server.schemas.types import STRICT


class RestrictRequest(BaseModel):
    """Whom to mute or ban, for how long: one of client_id, message_id or name."""

    model_config = STRICT
    client_id: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    minutes: int = Field(default=10, ge=1, le=7 * 24 * 60, strict=True)
    # Bans only: also refuse chat from the viewer's IP address (many can share one).
    ban_ip: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> RestrictRequest:
        given = [x for x in (self.client_id, self.message_id, self.name) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of client_id, message_id or name")
        return self


class RestrictionPublic(BaseModel):
    kind: str
    client_id: str
    name: str | None
    until: datetime
    ip_banned: bool


class ChatDeleted(BaseModel):
    id: str
    deleted: bool


class IntentPublic(BaseModel):
    id: str
    message_id: str | None
    name: str
    client_id: str
    text: str
    offer_id: int
    quantity: int
    grams: int
    total: int
    ts: int
