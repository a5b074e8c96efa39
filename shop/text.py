"""Text hygiene for anything users type, and folding for diacritic-insensitive matching."""

from __future__ import annotations

import unicodedata

from shop.errors import InvalidInput

# Bidi embeddings/overrides/isolates reorder what a reader sees ("Trojan Source" tricks), and
# zero-width characters make two different strings look identical (spoofed names, filter
# evasion). None of them belongs in a name, an address or a chat line.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]  # LRE RLE PDF LRO RLO
    + [chr(c) for c in range(0x2066, 0x206A)]  # LRI RLI FSI PDI
    + [chr(c) for c in range(0x200B, 0x2010)]  # ZWSP ZWNJ ZWJ LRM RLM
    + ["\u2060", "\ufeff"]  # word joiner, BOM / zero-width no-break space
)
_ZWJ = "\u200d"
# Emoji sequences such as 👨‍🌾 (farmer) join pictographs with ZWJ; allow it only there.
_EMOJI_LEFT = frozenset({"So", "Sk"})
_VS16 = "\ufe0f"


def clean_text(
    value: str,
    *,
    max_chars: int,
    max_bytes: int,
    field: str,
    multiline: bool = False,
    required: bool = True,
) -> str:
    """Return `value` NFC-normalised and stripped, or raise `InvalidInput` naming `field`.

    Limits count code points and UTF-8 bytes of the cleaned text (the database and the
    chat wire both care about bytes). `multiline` allows newlines; browsers submit
    textareas with CRLF, so CR and CRLF become LF first.
    """
    if not isinstance(value, str):
        raise TypeError(f"{field} must be str, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    _refuse_hidden(text, field=field, multiline=multiline)
    if not text:
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return text
    if len(text) > max_chars:
        raise InvalidInput(
            f"{field} is too long (at most {max_chars} characters)", field=field, limit=max_chars
        )
    if len(text.encode("utf-8")) > max_bytes:
        raise InvalidInput(
            f"{field} is too long (at most {max_bytes} bytes)", field=field, limit=max_bytes
        )
    return text


def _refuse_hidden(text: str, *, field: str, multiline: bool) -> None:
    for i, ch in enumerate(text):
        if ch == "\n" and multiline:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise InvalidInput(f"{field} contains a control character", field=field)
        if category == "Cs":
            # Lone surrogates slip in through JSON "\ud800" escapes and break UTF-8 later.
            raise InvalidInput(f"{field} contains an invalid character", field=field)
        if ch == _ZWJ and _is_emoji_joint(text, i):
            continue
        if ch in _INVISIBLE:
            raise InvalidInput(f"{field} contains an invisible formatting character", field=field)


def _is_emoji_joint(text: str, i: int) -> bool:
    if i == 0 or i + 1 >= len(text):
        return False
    left, right = text[i - 1], text[i + 1]
    left_ok = left == _VS16 or unicodedata.category(left) in _EMOJI_LEFT
    return left_ok and unicodedata.category(right) == "So"


# đ is a letter of its own, not d + a mark, so decomposition alone leaves it; ð (eth) is what
# some keyboards and OCR produce for Đ.
_LETTERS = str.maketrans({"đ": "d", "ð": "d"})


def fold(text: str) -> str:
    """Lowercase, strip Vietnamese diacritics and collapse whitespace: "Vải  Thiều" -> "vai thieu".

    For matching only, never for display. NFKD also maps full-width digits and letters
    (typed by some phone keyboards) to ASCII.
    """
    # Casefold between two NFKD passes: compatibility forms such as "ℌ" decompose to an
    # uppercase letter, and casefolding can produce letters with combining marks ("İ").
    text = unicodedata.normalize("NFKD", text).casefold()
    text = unicodedata.normalize("NFKD", text).translate(_LETTERS)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.split())
