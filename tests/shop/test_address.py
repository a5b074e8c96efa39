"""Tests for shop.address: post-2025 provinces and wards, typed loosely, old names converted."""

from __future__ import annotations

import pytest

from shop.address import (
    Address,
    InvalidProvince,
    Match,
    find_province,
    normalize_address,
    province_name,
    provinces,
    resolve,
    wards,
)
from shop.errors import InvalidInput


@pytest.mark.parametrize(
    "typed",
    ["Bắc Ninh", "Tỉnh Bắc Ninh", "tinh bac ninh", "BẮC NINH", "bacninh", "24", "  24 "],
)
def test_province_forms(typed: str) -> None:
    """Official names, prefixes, missing diacritics and the code all find Bắc Ninh."""
    assert find_province(typed).code == 24


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("TP Hà Nội", "Thành phố Hà Nội"),
        ("Bắc Ninh", "Thành phố Bắc Ninh"),  # a centrally-run city in the pinned data
        ("Hà Nội", "Thành phố Hà Nội"),
        ("01", "Thành phố Hà Nội"),
        ("Thành phố Hồ Chí Minh", "Thành phố Hồ Chí Minh"),
        ("TP. HCM", "Thành phố Hồ Chí Minh"),
        ("tphcm", "Thành phố Hồ Chí Minh"),
        ("Sài Gòn", "Thành phố Hồ Chí Minh"),
        ("Dak Lak", "Đắk Lắk"),
        ("Thanh Hoá", "Thanh Hóa"),  # old-style tone placement
    ],
)
def test_province_aliases(typed: str, official: str) -> None:
    """Cities with "Thành phố", everyday short forms and spelling variants resolve."""
    assert province_name(find_province(typed)) == official


@pytest.mark.parametrize(
    ("old", "new_code"),
    [
        ("Bắc Giang", 24),
        ("bac giang", 24),
        ("Tỉnh Hà Giang", 8),
        ("Bình Dương", 79),
        ("Bà Rịa - Vũng Tàu", 79),
        ("Nam Định", 37),
        ("Hòa Bình", 25),
        ("Quảng Nam", 48),
        ("Thừa Thiên Huế", 46),
        ("Kiên Giang", 91),
    ],
)
def test_pre_reform_provinces_convert(old: str, new_code: int) -> None:
    """Provinces merged on 1 July 2025 resolve to the province that absorbed them."""
    assert find_province(old).code == new_code


@pytest.mark.parametrize("typed", ["Hà Tây", "Atlantis", "99", "0", "²"])
def test_unknown_province_is_refused(typed: str) -> None:
    """Unknown names and codes raise invalid_province (Hà Tây was merged in 2008, not 2025)."""
    with pytest.raises(InvalidProvince) as caught:
        normalize_address(typed, "Phường Chũ", "Thôn 1")
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_province"


@pytest.mark.parametrize("ward", ["Phường Chũ", "phuong chu", "P. Chũ", "P.Chũ", "7525"])
def test_ward_forms(ward: str) -> None:
    """Wards match with or without prefix and diacritics, or by code: `exact`."""
    assert normalize_address("Bắc Ninh", ward, "Thôn Thanh Hùng") == Address(
        province_code=24,
        province_name="Thành phố Bắc Ninh",
        ward_code=7525,
        ward_name="Phường Chũ",
        street="Thôn Thanh Hùng",
        match=Match.EXACT,
        typed="" if ward in ("Phường Chũ", "phuong chu", "7525") else f"{ward}, Bắc Ninh",
    )


def test_old_three_level_address_converts() -> None:
    """An old "commune, district" with the old province converts to the official successor."""
    address = normalize_address("Lạng Sơn", "Phường Hoàng Văn Thụ, TP Lạng Sơn", "Tổ 5")
    assert (address.ward_code, address.ward_name, address.match) == (
        6187,
        "Phường Kỳ Lừa",
        Match.CONVERTED,
    )
    assert address.typed == "Phường Hoàng Văn Thụ, TP Lạng Sơn, Lạng Sơn"


def test_names_older_than_the_table_are_only_offered() -> None:
    """ "Thị trấn Chũ" (a phường since early 2025, not in the table) is offered, not taken."""
    found = resolve("Bắc Giang", "Thị trấn Chũ, huyện Lục Ngạn")
    assert found.address.ward_code is None
    assert found.address.match == Match.UNRECOGNISED
    assert found.candidates == ((7525, "Phường Chũ"),)


def test_unknown_ward_is_kept_as_typed() -> None:
    """A ward that is not found keeps the buyer's text and has no code."""
    address = normalize_address("Bắc Giang", "Xã Đồi Mây ", "Thôn Đồng Mới")
    assert address == Address(
        24,
        "Thành phố Bắc Ninh",
        None,
        "Xã Đồi Mây",
        "Thôn Đồng Mới",
        Match.UNRECOGNISED,
        "Xã Đồi Mây, Bắc Giang",
    )


def test_ward_must_be_in_the_province() -> None:
    """A real ward of another province is not matched."""
    assert normalize_address("Hà Nội", "Phường Chũ", "x").ward_code is None


def test_folded_ward_twins_need_diacritics() -> None:
    """Thái Nguyên has both Văn Lăng and Văn Lang: without diacritics neither is guessed."""
    assert normalize_address("Thái Nguyên", "Xã Văn Lăng", "x").ward_name == "Xã Văn Lăng"
    assert normalize_address("Thái Nguyên", "Văn Lang", "x").ward_name == "Xã Văn Lang"
    assert normalize_address("Thái Nguyên", "van lang", "x").ward_code is None


def test_codes_are_plain_ints() -> None:
    """Codes are plain ints (not the package's IntEnums), ready for JSON and SQL."""
    address = normalize_address("24", "7525", "x")
    assert type(address.province_code) is int
    assert type(address.ward_code) is int


def test_inputs_are_cleaned() -> None:
    """Fields go through clean_text: stripped, and empty ones refused by name."""
    assert normalize_address(" Bắc Ninh ", " Chũ ", "  Thôn 1 ").street == "Thôn 1"
    with pytest.raises(InvalidInput, match="street is required"):
        normalize_address("Bắc Ninh", "Chũ", "  ")
    with pytest.raises(InvalidInput, match="control character"):
        normalize_address("Bắc Ninh", "Chũ\x00", "Thôn 1")


def test_provinces_lists_all_34_by_code() -> None:
    """The picker lists the 34 provinces by code, with official names."""
    listed = provinces()
    assert len(listed) == 34
    assert [code for code, _ in listed] == sorted(code for code, _ in listed)
    assert (24, "Thành phố Bắc Ninh") in listed
    assert (4, "Cao Bằng") in listed
    assert (79, "Thành phố Hồ Chí Minh") in listed


def test_wards_lists_a_province() -> None:
    """The ward picker lists one province's wards alphabetically, ignoring prefixes."""
    listed = wards(24)
    assert (7525, "Phường Chũ") in listed
    assert all(type(code) is int for code, _ in listed)
    assert sum(len(wards(code)) for code, _ in provinces()) == 3321


def test_wards_of_unknown_province() -> None:
    """Asking for the wards of a province that does not exist raises invalid_province."""
    with pytest.raises(InvalidProvince):
        wards(2)  # Hà Giang's pre-reform code
