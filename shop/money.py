"""Money (integer VND) and weight (integer grams) formatted the way Vietnamese buyers read them.

Babel's CLDR data does the separators ("250.000" in vi, "250,000" in en). CLDR puts a
no-break space before "₫"; we emit a plain space instead so the strings are the same in
HTML, CSV exports, SMS and JSON, and tests and templates can compare them literally.
Line-wrapping between number and unit is prevented by CSS where it matters.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, format_decimal

# CLDR uses U+00A0 (and U+202F in some locales) between number and symbol or unit.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
_ONE_DECIMAL = "#,##0.#"  # one decimal at most, ",0" dropped: "54,3", "5"

_GRAMS_PER_KG = 1_000
_GRAMS_PER_TONNE = 1_000_000
_UNITS_VI = ("tấn", "kg", "g")
_UNITS_SI = ("t", "kg", "g")


def format_vnd(amount: int, locale: str = "vi") -> str:
    """Format whole đồng: 250000 -> "250.000 ₫" (vi), "₫250,000" (en)."""
    _require_int(amount, "amount")
    return _vnd(amount, locale)


@lru_cache(maxsize=4096)
def _vnd(amount: int, locale: str) -> str:
    # Cached: babel parses the pattern on every call (~0.1 ms), and a sale formats the
    # same few totals (quantity x price) for every order's message.
    # VND has no minor unit; format_currency already shows no decimals for it.
    return format_currency(amount, "VND", locale=_babel_locale(locale)).translate(_SPACES)


def format_weight(grams: int, locale: str = "vi") -> str:
    """Format a weight in the largest sensible unit: "54,3 tấn", "1,5 kg", "500 g".

    Tonnes from 1,000 kg up, kilograms from 1 kg up, one decimal rounded half up.
    """
    _require_int(grams, "grams")
    tonne, kilo, gram = _UNITS_VI if locale.startswith("vi") else _UNITS_SI
    sign, grams = ("-" if grams < 0 else ""), abs(grams)
    # Round to tenths of a kilogram first, so 999,960 g reads "1 tấn" and not "1.000 kg".
    tenth_kg = (grams + 50) // 100
    if grams < _GRAMS_PER_KG:
        value, unit = Decimal(grams), gram
    elif tenth_kg < 10 * _GRAMS_PER_TONNE // _GRAMS_PER_KG:
        value, unit = Decimal(tenth_kg) / 10, kilo
    else:
        value, unit = Decimal((grams + 50_000) // 100_000) / 10, tonne
    number = format_decimal(value, format=_ONE_DECIMAL, locale=_babel_locale(locale))
    return f"{sign}{number} {unit}"


def _babel_locale(locale: str) -> str:
    # Callers pass the UI language ("vi", "en"); Babel needs the territory for VN grouping.
    return "vi_VN" if locale in ("vi", "vi_VN", "vi-VN") else locale.replace("-", "_")


def _require_int(value: object, name: str) -> None:
    # bool is an int subclass; a True weight or price is always a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
