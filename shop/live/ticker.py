"""The anonymised order ticker: "Chị H. · Bắc Ninh vừa mua 10 kg"."""

from __future__ import annotations

import unicodedata

from shop.money import format_weight
from shop.text import fold

# Forms of address buyers put before their name; kept, since they read naturally.
_HONORIFICS = {
    "anh",
    "chi",
    "co",
    "chu",
    "bac",
    "em",
    "ong",
    "ba",
    "chau",
    "ban",
    "di",
    "cau",
    "mo",
    "thim",
}
_PROVINCE_PREFIXES = ("thành phố ", "tỉnh ", "tp. ", "tp ")
_ANONYMOUS = "Khách"


def buyer_label(name: str) -> str:
    """ "Nguyễn Thị Hoa" -> "Khách H.", "chị hoa" -> "Chị H.": never more than an initial."""
    words = unicodedata.normalize("NFC", name).split()
    honorific = None
    if len(words) > 1 and fold(words[0]) in _HONORIFICS:
        honorific = words[0][:1].upper() + words[0][1:].lower()
        words = words[1:]
    initial = next((ch for ch in (words[-1] if words else "") if ch.isalpha()), "")
    if not initial:
        return honorific or _ANONYMOUS
    return f"{honorific or _ANONYMOUS} {initial.upper()}."


def short_province(province: str) -> str:
    """ "Thành phố Hồ Chí Minh" -> "Hồ Chí Minh", "Tỉnh Bắc Ninh" -> "Bắc Ninh"."""
    text = " ".join(unicodedata.normalize("NFC", province).split())
    lowered = text.lower()
    for prefix in _PROVINCE_PREFIXES:
        if lowered.startswith(prefix):
            return text[len(prefix) :]
    return text


def ticker_text(buyer_name: str, province: str, grams: int) -> str:
    where = short_province(province or "")
    who = buyer_label(buyer_name) + (f" · {where}" if where else "")
    return f"{who} vừa mua {format_weight(grams)}"
