"""Reusable strict field types for request bodies: clean text, positive grams, VND."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, ConfigDict, Field, StrictInt, ValidationInfo

from shop.errors import InvalidInput
from shop.text import clean_text

# Every request body refuses unknown fields and never coerces "2" into 2.
STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _text(max_chars: int, required: bool) -> Any:
    def check(value: Any, info: ValidationInfo) -> Any:
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string")
        try:
            cleaned = clean_text(
                value,
                max_chars=max_chars,
                max_bytes=max_chars * 4,
                field=info.field_name or "text",
                required=required,
            )
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        return cleaned or None

    return BeforeValidator(check)


def Text(max_chars: int) -> Any:
    return Annotated[str, _text(max_chars, True), Field(max_length=max_chars)]


def OptionalText(max_chars: int) -> Any:
    return Annotated[str | None, _text(max_chars, False), Field(default=None)]


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


# Up to 10,000 tonnes in grams; integer only.
Grams = Annotated[StrictInt, BeforeValidator(_not_bool), Field(gt=0, le=10_000_000_000)]
Vnd = Annotated[StrictInt, BeforeValidator(_not_bool), Field(ge=0, le=100_000_000_000)]
Id = Annotated[StrictInt, BeforeValidator(_not_bool), Field(gt=0, le=2**31 - 1)]

# An id in a URL path: out of range is a 404 (server/errors.py), never an integer overflow
# in the database.
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]
