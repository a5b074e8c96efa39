"""Vietnamese mobile numbers: normalise to "0912345678", mask for public display."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import phonenumbers

from shop.errors import InvalidInput


class InvalidPhone(InvalidInput):
    """That is not a Vietnamese mobile number (10 digits starting 03, 05, 07, 08 or 09)."""

    code = "invalid_phone"


_SEPARATORS = re.compile(r"[\s.\-()/]+")
# What a typed phone number may contain (after NFKC): ASCII digits, a plus, separators.
_CHARACTERS = re.compile(r"[\s(]*\+?[0-9\s.\-()/]+")
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
    phonenumbers does the parsing (country code, trunk prefix); it is lenient where we are
    not (it reads letters as keypad digits, takes "ext 2" and other scripts' digits), so the
    characters are checked first. Its per-prefix validity data is not used: a number in a
    newly allocated mobile range must not be refused until a library release catches up.
    """
    if not isinstance(raw, str):
        raise TypeError(f"phone must be str, not {type(raw).__name__}")
    if _MOBILE.fullmatch(raw) and raw.isascii():
        return raw  # already the national form (most orders): what the parse would return
    # NFKC turns full-width digits from some phone keyboards into ASCII.
    text = unicodedata.normalize("NFKC", raw).strip()
    if not _CHARACTERS.fullmatch(text):
        # The message never echoes the number: error details end up in logs.
        raise InvalidPhone()
    # "84..." without a plus: national numbers start with 0, so 84 is the country code.
    digits = _SEPARATORS.sub("", text).lstrip("+")
    if digits.startswith("84"):
        digits = "+" + digits
    elif not digits.startswith("0"):  # "912345678": the trunk 0 is not optional here
        raise InvalidPhone()
    try:
        parsed = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone() from None
    national = "0" + str(parsed.national_number)
    if parsed.country_code != 84 or parsed.extension or not _MOBILE.fullmatch(national):
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
    # NFKC first: full-width digits and separators ("０９１２－３４５") are phone digits too.
    text = unicodedata.normalize("NFKC", text)
    parts: list[str] = []
    last = 0
    for start, end, national in find_phones(text):
        parts.append(text[last:start])
        parts.append(mask_phone(national))
        last = end
    parts.append(text[last:])
    return "".join(parts)
