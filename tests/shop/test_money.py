"""Tests for shop.money: VND and weight strings as Vietnamese (and English) readers expect."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shop.money import format_vnd, format_weight


@pytest.mark.parametrize(
    ("amount", "vi", "en"),
    [
        (0, "0 ₫", "₫0"),
        (250_000, "250.000 ₫", "₫250,000"),
        (12_345_678, "12.345.678 ₫", "₫12,345,678"),
        (-5_000, "-5.000 ₫", "-₫5,000"),
    ],
)
def test_format_vnd(amount: int, vi: str, en: str) -> None:
    """Whole đồng with locale thousands separators and no decimals."""
    assert format_vnd(amount) == vi
    assert format_vnd(amount, "vi_VN") == vi
    assert format_vnd(amount, "en") == en


def test_format_vnd_uses_a_plain_space() -> None:
    """Babel puts a no-break space before ₫; we promise a plain U+0020 instead."""
    out = format_vnd(250_000)
    assert "\u00a0" not in out and "\u202f" not in out
    assert out[-2:] == " ₫"


@pytest.mark.parametrize("amount", [250000.0, True, Decimal("250000"), "250000"])
def test_format_vnd_refuses_non_integers(amount: object) -> None:
    """Floats, bools, Decimals and strings are bugs upstream: money is integer đồng."""
    with pytest.raises(TypeError):
        format_vnd(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grams", "vi", "en"),
    [
        (0, "0 g", "0 g"),
        (500, "500 g", "500 g"),
        (999, "999 g", "999 g"),
        (1_000, "1 kg", "1 kg"),
        (1_500, "1,5 kg", "1.5 kg"),
        (5_000, "5 kg", "5 kg"),
        (1_250, "1,3 kg", "1.3 kg"),  # half up, not banker's rounding
        (999_900, "999,9 kg", "999.9 kg"),
        (999_960, "1 tấn", "1 t"),  # rounds to 1,000 kg, so it reads in tonnes
        (1_000_000, "1 tấn", "1 t"),
        (54_300_000, "54,3 tấn", "54.3 t"),
        (54_000_000, "54 tấn", "54 t"),
        (54_250_000, "54,3 tấn", "54.3 t"),
        (1_234_500_000, "1.234,5 tấn", "1,234.5 t"),
        (-1_500, "-1,5 kg", "-1.5 kg"),
    ],
)
def test_format_weight(grams: int, vi: str, en: str) -> None:
    """Tonnes from 1,000 kg, kilograms from 1 kg, one decimal at most, ",0" dropped."""
    assert format_weight(grams) == vi
    assert format_weight(grams, "en") == en


def test_format_weight_has_no_no_break_spaces() -> None:
    """Weights use a plain space between number and unit, like money."""
    assert format_weight(54_300_000) == "54,3 tấn"
    assert "\u00a0" not in format_weight(1_234_500_000)


@pytest.mark.parametrize("grams", [1.5, False, Decimal(5)])
def test_format_weight_refuses_non_integers(grams: object) -> None:
    """Stock is integer grams; anything else is refused."""
    with pytest.raises(TypeError):
        format_weight(grams)  # type: ignore[arg-type]
