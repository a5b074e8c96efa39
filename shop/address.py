"""Delivery addresses after the 2025 reform: street/hamlet + ward/commune + province (34 of them).

Buyers type new names ("Phường Chũ", "Bắc Ninh"), codes, or the address they have written
for years ("Xã Việt Hùng, Huyện Đông Anh, Hà Nội"). Resolution, in order of trust:

- `exact`: a 2025 ward named (or coded) as typed, and no pre-reform commune of that name in
  scope that went elsewhere;
- `converted`: a pre-reform commune (named with its district, or alone when unique) whose
  official successor, per the government's old-to-new table, is one single ward;
- `unrecognised`: anything else. A commune split between several wards, two places that
  fold to the same letters, an unknown name: `ward_code` stays None, the typed text is kept
  and the successors are offered as `candidates` for the buyer (or staff) to pick.

Nothing is ever matched by similar spelling: keys are the letters without diacritics, and
when the buyer typed diacritics those must agree too ("Việt Hùng" is not "Việt Hưng").
An unknown province is refused (an order must reach a province at least).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from shop.divisions import (
    DISTRICT_PREFIXES,
    PROVINCE_PREFIXES,
    WARD_PREFIXES,
    Name,
    OldWard,
    Unit,
    divisions,
    parse_name,
    words,
)
from shop.errors import InvalidInput
from shop.text import clean_text


class InvalidProvince(InvalidInput):
    """That is not one of Vietnam's 34 provinces and centrally-run cities."""

    code = "invalid_province"


class Match:
    EXACT = "exact"
    CONVERTED = "converted"
    UNRECOGNISED = "unrecognised"


@dataclass(frozen=True, slots=True)
class Address:
    """A normalised delivery address; `ward_code` is None when the ward was not recognised.

    `typed` is the buyer's own text for the ward/commune (and district, province) when it
    differs from the official names; `match` says how `ward_code` was found.
    """

    province_code: int
    province_name: str
    ward_code: int | None
    ward_name: str
    street: str
    match: str = Match.EXACT
    typed: str = ""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What typed text resolved to, how, and the wards a buyer may pick from."""

    address: Address
    candidates: tuple[tuple[int, str], ...] = ()


# Everyday short forms seen on parcels and in chat, and "Thừa Thiên Huế", the province's
# name until it became a city in January 2025 (the pre-reform list already says "Huế").
_NICKNAMES = {
    1: ("HN",),
    46: ("Thừa Thiên Huế", "TT Huế", "TTH"),
    79: ("HCM", "TPHCM", "Sài Gòn", "SG", "Vũng Tàu", "BRVT"),
}
_MAX_NAME_CHARS = 100
_MAX_TYPED_CHARS = 300
_MAX_STREET_CHARS = 200
_MAX_CANDIDATES = 12


def normalize_address(province: str, ward: str, street: str, typed: str | None = None) -> Address:
    """Resolve typed province and ward names (or codes) to official ones.

    `typed` is an old address line the buyer converted on the order sheet before picking
    the ward (codes in `province`/`ward`): it is kept beside the result, and `match` is
    `converted` when the official table gives that very ward.
    """
    province = clean_text(province, max_chars=_MAX_NAME_CHARS, max_bytes=400, field="province")
    ward = clean_text(ward, max_chars=_MAX_NAME_CHARS, max_bytes=400, field="ward")
    street = clean_text(street, max_chars=_MAX_STREET_CHARS, max_bytes=800, field="street")
    if typed:
        typed = clean_text(
            typed, max_chars=_MAX_TYPED_CHARS, max_bytes=1200, field="typed", required=False
        )
    return replace(_normalized(province, ward, typed or ""), street=street)


@functools.lru_cache(maxsize=8192)
def _normalized(province: str, ward: str, typed: str) -> Address:
    # Cached whole: the same few spellings arrive thousands of times during a sale.
    address = replace(resolve(province, ward).address, typed="")
    if not (_is_official_province(province, address) and _is_official_ward(ward, address)):
        address = replace(address, typed=f"{ward}, {province}")
    if typed and address.ward_code is not None:
        old = convert_old_address(typed, province).address
        same = old.match == Match.CONVERTED and old.ward_code == address.ward_code
        address = replace(address, typed=typed, match=Match.CONVERTED if same else address.match)
    return address


@functools.lru_cache(maxsize=8192)
def resolve(province: str, ward: str) -> Resolution:
    """The province and ward that typed text names; raises for an unknown province.

    `ward` may carry the old district and province after commas ("Xã X, Huyện Y, Tỉnh Z").
    Cached: during a sale thousands of buyers type the same few provinces and wards.
    """
    found = find_province(province)
    parts = [p.strip() for p in ward.split(",") if p.strip()]
    scope = _old_scope(province, found.code)
    # "Xã X, Thành phố Cao Bằng" names a district that shares the province's name.
    if len(parts) > 1 and _is_province(parts[-1]) and not _district_last(scope, parts):
        if find_province(parts[-1]).code != found.code:
            return _unrecognised(found, ward, ward, ())
        scope &= _old_scope(parts[-1], found.code)
        parts = parts[:-1]
    return _resolve_parts(found, scope, parts, ward)


@functools.lru_cache(maxsize=4096)
def convert_old_address(line: str, province: str | None = None) -> Resolution:
    """Convert a whole old address line ("[street, ]commune, district, province").

    The province may come separately. Unknown province: `unrecognised` with province 0.
    """
    parts = [p.strip() for p in line.split(",") if p.strip()]
    if parts and _is_province(parts[-1]) and (len(parts) > 1 or not province):
        province_text = parts.pop()
        if province and find_province(province).code != find_province(province_text).code:
            return Resolution(Address(0, "", None, line, "", Match.UNRECOGNISED, line))
    elif province and _is_province(province):
        province_text = province
    else:
        return Resolution(Address(0, "", None, line, "", Match.UNRECOGNISED, line))
    found = find_province(province_text)
    scope = _old_scope(province_text, found.code)
    if len(parts) > 2 or (len(parts) == 2 and not _districts(scope, parts[-1])):
        # Leading parts are the street or hamlet ("Thôn 3, Xã ..."): keep the last two (or one).
        parts = parts[-2:] if _districts(scope, parts[-1]) else parts[-1:]
    found_parts = _resolve_parts(found, scope, parts, line)
    return replace(found_parts, address=replace(found_parts.address, typed=line))


def find_province(text: str) -> Unit:
    """Look up a province by code ("24"), name, short form or pre-2025 name; else raise."""
    d = divisions()
    text = text.strip()
    if text.isascii() and text.isdigit():
        if int(text) in d.provinces:
            return d.provinces[int(text)]
        raise InvalidProvince()
    keys = _province_keys()
    for reading in parse_name(text, PROVINCE_PREFIXES):
        if reading.key in keys:
            return d.provinces[keys[reading.key]]
    raise InvalidProvince()


def province_name(unit: Unit) -> str:
    """The name shown: official, without "Tỉnh" ("Bắc Ninh", "Thành phố Hà Nội")."""
    return unit.name.removeprefix("Tỉnh ")


def provinces() -> list[tuple[int, str]]:
    """All 34 provinces as (code, name), by code, for pickers."""
    return [(code, province_name(p)) for code, p in sorted(divisions().provinces.items())]


def wards(province_code: int, query: str = "") -> list[tuple[int, str]]:
    """One province's wards and communes as (code, name), by name; `query` filters them
    by words without diacritics ("phuong chu", "chu")."""
    try:
        found = divisions().by_province[province_code]
    except KeyError:
        raise InvalidProvince() from None
    wanted = " ".join(words(query))
    return [(w.code, w.name) for w in found if not wanted or wanted in " ".join(words(w.name))]


def data_source() -> dict[str, str]:
    """Which release of the address data is in use (for /api/geo and the docs)."""
    return dict(divisions().source)


def _resolve_parts(found: Unit, scope: frozenset[int], parts: list[str], typed: str) -> Resolution:
    if not parts:
        return _unrecognised(found, typed, typed, ())
    commune = parts[-2] if len(parts) > 1 else parts[0]
    district = parts[-1] if len(parts) > 1 else None
    if len(parts) == 1 and commune.isascii() and commune.isdigit():
        ward = divisions().wards.get(int(commune))
        if ward is not None and ward.parent == found.code:
            return Resolution(_address(found, ward, Match.EXACT, ""))
        return _unrecognised(found, typed, typed, ())
    readings = parse_name(commune, WARD_PREFIXES)
    if district is not None:
        districts = _districts(scope, district)
        old = [w for w in _old_wards(scope, readings) if w.unit.parent in districts]
        new: list[Unit] = []
    else:
        old = _old_wards(scope, readings)
        new = _new_wards(found.code, readings)
    successors = list(dict.fromkeys([w.code for w in new] + [c for o in old for c in o.successors]))
    if len(successors) == 1 and (new or all(o.successors for o in old)):
        ward = divisions().wards[successors[0]]
        how = Match.EXACT if ward in new else Match.CONVERTED
        return Resolution(_address(found, ward, how, ""))
    if not successors:
        # Nothing matched exactly: offer what the bare letters would give, never take it.
        loose = tuple(_loose(r) for r in readings)
        successors = [w.code for w in _new_wards(found.code, loose)]
        successors += [c for o in _old_wards(scope, loose) for c in o.successors]
    return _unrecognised(found, commune if district is None else typed, typed, successors)


def _address(found: Unit, ward: Unit, how: str, typed: str) -> Address:
    return Address(found.code, province_name(found), ward.code, ward.name, "", how, typed)


def _unrecognised(
    found: Unit, ward_text: str, typed: str, codes: list[int] | tuple[()]
) -> Resolution:
    d = divisions()
    picked = [c for c in dict.fromkeys(codes) if d.wards[c].parent == found.code]
    candidates = tuple((c, d.wards[c].name) for c in picked[:_MAX_CANDIDATES])
    address = Address(
        found.code, province_name(found), None, ward_text, "", Match.UNRECOGNISED, typed
    )
    return Resolution(address, candidates)


def _is_official_ward(typed: str, address: Address) -> bool:
    if address.ward_code is None:
        return False
    key = "".join(words(typed))
    ward = divisions().wards[address.ward_code]
    return typed.strip() == str(ward.code) or key in ("".join(words(ward.name)), ward.key)


def _is_official_province(typed: str, address: Address) -> bool:
    unit = divisions().provinces[address.province_code]
    key = "".join(words(typed))
    return typed.strip() == str(unit.code) or key in ("".join(words(unit.name)), unit.key)


def _agrees(unit: Unit, reading: Name) -> bool:
    if reading.kind is not None and reading.kind != unit.kind:
        return False
    return reading.exact is None or reading.exact == unit.exact


def _loose(reading: Name) -> Name:
    return Name(None, reading.key, None)


def _new_wards(province_code: int, readings: Sequence[Name]) -> list[Unit]:
    d = divisions()
    found = [
        w for r in readings for w in d.ward_keys.get((province_code, r.key), ()) if _agrees(w, r)
    ]
    return list(dict.fromkeys(found))


def _old_wards(scope: frozenset[int], readings: Sequence[Name]) -> list[OldWard]:
    d = divisions()
    found = [
        w
        for r in readings
        for p in scope
        for w in d.old_wards.get((p, r.key), ())
        if _agrees(w.unit, r)
    ]
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=4096)
def _districts(scope: frozenset[int], text: str) -> frozenset[int]:
    d = divisions()
    return frozenset(
        u.code
        for r in parse_name(text, DISTRICT_PREFIXES)
        for p in scope
        for u in d.old_districts.get((p, r.key), ())
        if _agrees(u, r)
    )


def _district_last(scope: frozenset[int], parts: list[str]) -> bool:
    return len(parts) == 2 and bool(_districts(scope, parts[-1]))


@functools.lru_cache(maxsize=4096)
def _is_province(text: str) -> bool:
    try:
        find_province(text)
    except InvalidProvince:
        return False
    return True


def _old_scope(text: str, new_code: int) -> frozenset[int]:
    """Pre-reform provinces the buyer may mean: the one named ("Bắc Giang"), or, for a name
    that is still a province ("Bắc Ninh"), every old province now part of it."""
    d = divisions()
    old_keys = _old_province_keys()
    new_keys = {unit.key for unit in d.provinces.values()}
    for reading in parse_name(text, PROVINCE_PREFIXES):
        if reading.key in old_keys and reading.key not in new_keys:
            return frozenset({old_keys[reading.key]})
    return frozenset(c for c, new in d.old_to_new_province.items() if new == new_code)


@functools.cache
def _province_keys() -> dict[str, int]:
    d = divisions()
    keys: dict[str, int] = {}
    for code, unit in d.provinces.items():
        keys.setdefault(unit.key, code)
    for code, unit in d.old_provinces.items():
        keys.setdefault(unit.key, d.old_to_new_province[code])
    for code, names in _NICKNAMES.items():
        for name in names:
            keys.setdefault("".join(words(name)), code)
    return keys


@functools.cache
def _old_province_keys() -> dict[str, int]:
    return {unit.key: code for code, unit in divisions().old_provinces.items()}
