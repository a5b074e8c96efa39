"""Vietnamese mobile numbers: normalise to "0912345678", mask for public display."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from shop.errors import InvalidInput


class InvalidPhone(InvalidInput):
    """That is not a Vietnamese mobile number (10 digits starting 03, 05, 07, 08 or 09)."""

    code = "invalid_phone"


_SEPARATORS = re.compile(r"[\s.\-()/]+")
# Second digit 3/5/7/8/9 covers every mobile range since the 2018 renumbering, without a
# per-carrier list that goes stale when a new prefix is allocated.
_MOBILE = re.compile(r"0[35789]\d{8}")
_MASK = "•••"

# A phone inside chat: 0 or +84/84/0084, then nine digits with at most one separator between
# any two of them ("0912 345 678", "0912.345.678", "+84 912-345-678"). The look-arounds
# keep it from starting or ending inside a longer number such as "1.500.000.000".
_IN_TEXT = re.compile(
    r"(?<!\d)(?<!\d[.,\-])"
    r"(?:\(?(?:\+|00)?84\)?[ .\-]?(?:\(?0\)?[ .\-]?)?|0[ .\-]?)"
    r"\d(?:[ .\-]?\d){8}"
    r"(?![.,\-]?\d)"
)


def normalize_phone(raw: str) -> str:
    """Return the 10-digit national form of a mobile number, or raise `InvalidPhone`.

    Accepts "0912 345 678", "0912.345.678", "+84 912345678", "84912345678", "(+84) 0912...".
    """
    if not isinstance(raw, str):
        raise TypeError(f"phone must be str, not {type(raw).__name__}")
    # NFKC turns full-width digits from some phone keyboards into ASCII.
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    national = digits if digits.startswith("0") else None
    # National numbers start with 0, so a leading 84 can only be the country code.
    for prefix in ("+84", "0084", "84"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            national = rest if rest.startswith("0") else "0" + rest
            break
    if national is None or not national.isascii() or not _MOBILE.fullmatch(national):
        # The message never echoes the number: error details end up in logs.
        raise InvalidPhone()
    return national


def mask_phone(phone: str) -> str:
    """Show the first 4 and last 3 digits only: "0912345678" -> "0912•••678"."""
    national = normalize_phone(phone)
    return national[:4] + _MASK + national[-3:]


def find_phones(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, national number) for each valid mobile number inside `text`."""
    for match in _IN_TEXT.finditer(text):
        try:
            national = normalize_phone(match.group())
        except InvalidPhone:
            continue
        yield match.start(), match.end(), national


def mask_phones_in_text(text: str) -> str:
    """Mask every mobile number in free text; other numbers ("2 thùng", "250.000") stay."""
    parts: list[str] = []
    last = 0
    for start, end, national in find_phones(text):
        parts.append(text[last:start])
        parts.append(mask_phone(national))
        last = end
    parts.append(text[last:])
    return "".join(parts)
