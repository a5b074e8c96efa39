"""Delivery addresses after the 2025 reform: street/hamlet + ward/commune + province (34 of them).

Names are matched diacritics-insensitively, with or without "Tỉnh", "Thành phố", "Phường",
"Xã" prefixes. Buyers still type pre-reform provinces ("Bắc Giang"); those are converted to
the province that absorbed them. An unknown ward is kept as typed (ward_code None) so an
order is never lost over a spelling; an unknown province is refused.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache

from vietnam_provinces import Province, Ward

from shop.errors import InvalidInput
from shop.text import clean_text, fold


class InvalidProvince(InvalidInput):
    """That is not one of Vietnam's 34 provinces and centrally-run cities."""

    code = "invalid_province"


@dataclass(frozen=True, slots=True)
class Address:
    """A normalised delivery address; `ward_code` is None when the ward was not recognised."""

    province_code: int
    province_name: str
    ward_code: int | None
    ward_name: str
    street: str


# Resolution 202/2025/QH15 (effective 1 July 2025): pre-reform provinces -> the new province
# code that absorbed them. vietnam_provinces 2025.x only ships the new divisions.
_MERGED_INTO = {
    8: ("Hà Giang",),
    15: ("Yên Bái",),
    19: ("Bắc Kạn",),
    24: ("Bắc Giang",),
    25: ("Vĩnh Phúc", "Hòa Bình"),
    31: ("Hải Dương",),
    33: ("Thái Bình",),
    37: ("Hà Nam", "Nam Định"),
    44: ("Quảng Bình",),
    46: ("Thừa Thiên Huế",),
    48: ("Quảng Nam",),
    51: ("Kon Tum",),
    52: ("Bình Định",),
    56: ("Ninh Thuận",),
    66: ("Phú Yên",),
    68: ("Đắk Nông", "Bình Thuận"),
    75: ("Bình Phước",),
    79: ("Bình Dương", "Bà Rịa - Vũng Tàu", "Vũng Tàu", "BRVT"),
    80: ("Long An",),
    82: ("Tiền Giang",),
    86: ("Bến Tre", "Trà Vinh"),
    91: ("Kiên Giang",),
    92: ("Sóc Trăng", "Hậu Giang"),
    96: ("Bạc Liêu",),
}
# Everyday short forms seen on parcels and in chat.
_NICKNAMES = {
    1: ("HN",),
    79: ("HCM", "TPHCM", "Sài Gòn", "SG"),
}

_PROVINCE_PREFIXES = (("thanh", "pho"), ("tinh",), ("tp",), ("t", "p"))
# "Thị trấn" (town) no longer exists, but most towns became a phường of the same name.
_WARD_PREFIXES = (("phuong",), ("xa",), ("dac", "khu"), ("thi", "tran"), ("p",), ("x",), ("tt",))

_MAX_NAME_CHARS = 100
_MAX_STREET_CHARS = 200


@dataclass(frozen=True, slots=True)
class _Index:
    provinces: dict[str, Province]
    by_code: dict[int, Province]
    wards: dict[tuple[int, str], tuple[Ward, ...]]
    by_province: dict[int, tuple[Ward, ...]]


def normalize_address(province: str, ward: str, street: str) -> Address:
    """Resolve typed province and ward names (or codes) to official ones."""
    province = clean_text(province, max_chars=_MAX_NAME_CHARS, max_bytes=400, field="province")
    ward = clean_text(ward, max_chars=_MAX_NAME_CHARS, max_bytes=400, field="ward")
    street = clean_text(street, max_chars=_MAX_STREET_CHARS, max_bytes=800, field="street")
    return replace(_resolve(province, ward), street=street)


@functools.lru_cache(maxsize=8192)
def _resolve(province: str, ward: str) -> Address:
    # During a sale thousands of buyers type the same few provinces and wards: resolve
    # each spelling once. Raises (uncached) for an unknown province.
    found = find_province(province)
    match = _find_ward(found.code, ward)
    # Plain ints, not the package's IntEnums: these go to JSON and the database.
    if match is None:
        return Address(found.code.value, found.name, None, ward, "")
    return Address(found.code.value, found.name, match.code.value, match.name, "")


def find_province(text: str) -> Province:
    """Look up a province by code ("24"), name, short form or pre-2025 name; else raise."""
    index = _index()
    text = text.strip()
    if text.isascii() and text.isdigit():
        if int(text) in index.by_code:
            return index.by_code[int(text)]
        raise InvalidProvince()
    for key in _keys(text, _PROVINCE_PREFIXES):
        if key in index.provinces:
            return index.provinces[key]
    raise InvalidProvince()


def provinces() -> list[tuple[int, str]]:
    """All 34 provinces as (code, official name), by code, for pickers."""
    return [(code, p.name) for code, p in sorted(_index().by_code.items())]


def wards(province_code: int) -> list[tuple[int, str]]:
    """The wards and communes of one province as (code, official name), alphabetically."""
    try:
        found = _index().by_province[province_code]
    except KeyError:
        raise InvalidProvince() from None
    return [(w.code.value, w.name) for w in found]


def _find_ward(province_code: int, text: str) -> Ward | None:
    index = _index()
    if text.isascii() and text.isdigit():
        code = int(text)
        return next((w for w in index.by_province[province_code] if w.code == code), None)
    # Buyers paste old three-level addresses ("Xã Phượng Sơn, huyện Lục Ngạn"): the first
    # part is the commune.
    for candidate_text in dict.fromkeys((text, text.split(",")[0])):
        for key in _keys(candidate_text, _WARD_PREFIXES):
            found = index.wards.get((province_code, key), ())
            if found:
                return _disambiguate(found, candidate_text)
    return None


def _disambiguate(found: tuple[Ward, ...], typed: str) -> Ward | None:
    if len(found) == 1:
        return found[0]
    # "Văn Lang" and "Vân Lang" fold alike; the diacritics the buyer typed decide, if any.
    exact = _exact(typed)
    same = [w for w in found if exact in (_exact(w.name), _exact(_bare(w.name)))]
    return same[0] if len(same) == 1 else None


def _keys(text: str, prefixes: Iterable[tuple[str, ...]]) -> list[str]:
    """Lookup keys for typed text: as typed, then without an administrative prefix."""
    words = re.sub(r"[^a-z0-9]+", " ", fold(text)).split()
    keys = ["".join(words)]
    for prefix in prefixes:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            keys.append("".join(words[len(prefix) :]))
            break
    return [key for key in keys if key]


def _exact(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFC", text).casefold())


def _bare(name: str) -> str:
    for prefix in ("Phường ", "Xã ", "Đặc khu "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@cache
def _index() -> _Index:
    """Build the lookup tables once, on first use (the package holds 3,321 wards)."""
    by_code = {p.code.value: p for p in Province.iter_all()}
    provinces: dict[str, Province] = {}
    for code, province in by_code.items():
        names = [province.name, province.codename.replace("_", " ")]
        names += _MERGED_INTO.get(code, ()) + _NICKNAMES.get(code, ())
        for name in names:
            for key in _keys(name, _PROVINCE_PREFIXES):
                provinces.setdefault(key, province)
    wards: dict[tuple[int, str], tuple[Ward, ...]] = {}
    by_province: dict[int, list[Ward]] = {code: [] for code in by_code}
    for ward in Ward.iter_all():
        province_code = ward.province_code.value
        by_province[province_code].append(ward)
        for key in {*_keys(ward.name, ()), *_keys(_bare(ward.name), ())}:
            wards[province_code, key] = (*wards.get((province_code, key), ()), ward)
    return _Index(
        provinces=provinces,
        by_code=by_code,
        wards=wards,
        by_province={
            code: tuple(sorted(found, key=lambda w: fold(_bare(w.name))))
            for code, found in by_province.items()
        },
    )
