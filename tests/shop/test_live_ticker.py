"""Tests for shop.live.ticker: the anonymised "who bought what" line."""

from __future__ import annotations

import pytest

from shop.live.ticker import buyer_label, short_province, ticker_text


def test_the_issue_example() -> None:
    """Chị Hoa in Bắc Ninh buying 10 kg reads "Chị H. · Bắc Ninh vừa mua 10 kg"."""
    assert ticker_text("Chị Hoa", "Bắc Ninh", 10_000) == "Chị H. · Bắc Ninh vừa mua 10 kg"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Nguyễn Thị Hoa", "Khách H."),
        ("chị nguyễn thị hoa", "Chị H."),
        ("ANH Đức", "Anh Đ."),
        ("Hoa", "Khách H."),
        ("Chị", "Khách C."),
        ("cô 🌸Lan", "Cô L."),
        ("🌸", "Khách"),
        ("", "Khách"),
    ],
)
def test_buyers_show_only_an_initial(name: str, label: str) -> None:
    """The last word's first letter, after a form of address when the buyer typed one."""
    assert buyer_label(name) == label


@pytest.mark.parametrize(
    ("province", "short"),
    [
        ("Thành phố Hồ Chí Minh", "Hồ Chí Minh"),
        ("Tỉnh Bắc Ninh", "Bắc Ninh"),
        ("TP. Hà Nội", "Hà Nội"),
        ("Bắc  Ninh", "Bắc Ninh"),
    ],
)
def test_province_titles_are_dropped(province: str, short: str) -> None:
    """Provinces read without "Tỉnh"/"Thành phố"."""
    assert short_province(province) == short


def test_weights_use_the_shared_formatter() -> None:
    """Tonnes and decimals follow shop.money.format_weight; no province, no separator."""
    assert ticker_text("Anh Ba", "Thành phố Hải Phòng", 1_500_000) == (
        "Anh B. · Hải Phòng vừa mua 1,5 tấn"
    )
    assert ticker_text("Ba", "", 2_500) == "Khách B. vừa mua 2,5 kg"
