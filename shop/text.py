"""Text hygiene for anything users type, and folding for diacritic-insensitive matching.

Every check runs on the same cleaned form: NFKC (full-width digits and letters, ligatures
and other compatibility forms become what they look like), with invisible characters
either refused (bidi controls, zero-width characters: deliberate tricks) or stripped
(the other default-ignorable and format characters, e.g. a soft hyphen, U+2061, U+034F,
which pasted text carries innocently). `skeleton` then maps letters of other scripts
that look Latin ("ѕсаm" in Cyrillic) to the Latin letters they imitate, for matching.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

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
# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) that are not
# format characters (category Cf, stripped as a whole): they render as nothing.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors, vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0E),  # variation selectors 1-15 (16 stays: it makes emoji colour)
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
)
# Characters that draw as blank space without being whitespace: a name of them is blank.
_BLANKS = str.maketrans({"\u2800": " ", "\u3000": " "})


# Per-character answers are cached: every order cleans several fields, and the characters
# of Vietnamese text are a few hundred, so the Unicode look-ups run once per character.
@lru_cache(maxsize=65536)
def _ignorable(ch: str) -> bool:
    code = ord(ch)
    if unicodedata.category(ch) == "Cf" and ch not in _INVISIBLE:
        return True
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


@lru_cache(maxsize=65536)
def _needs_look(ch: str) -> bool:
    """Whether `_refuse_hidden` must look at `ch` where it stands (controls, newlines,
    surrogates, invisible characters, the emoji joiner): any other character passes."""
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _INVISIBLE


def strip_ignorable(text: str) -> str:
    """Drop default-ignorable and format characters (not the refused ones, nor emoji ZWJ)."""
    if text.isascii() or not any(map(_ignorable, set(text))):
        return text
    return "".join(ch for ch in text if not _ignorable(ch))


def normalize(text: str) -> str:
    """NFKC, ignorable characters stripped, NFC again (stripping can unblock a composition)."""
    text = strip_ignorable(unicodedata.normalize("NFKC", text)).translate(_BLANKS)
    return unicodedata.normalize("NFC", text)


def clean_text(
    value: str,
    *,
    max_chars: int,
    max_bytes: int,
    field: str,
    multiline: bool = False,
    required: bool = True,
) -> str:
    """Return `value` normalised (see `normalize`) and stripped, or raise `InvalidInput`.

    Limits count code points and UTF-8 bytes of the cleaned text (the database and the
    chat wire both care about bytes). `multiline` allows newlines; browsers submit
    textareas with CRLF, so CR and CRLF become LF first.
    """
    if not isinstance(value, str):
        raise TypeError(f"{field} must be str, not {type(value).__name__}")
    text = normalize(value)
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
    if (text.isprintable() and text.isascii()) or not any(map(_needs_look, set(text))):
        return  # the usual case: nothing to refuse, so no walk character by character
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


def _latin_homoglyph(ch: str) -> str:
    for glyph in confusables.confusables_data.get(ch, ()):
        candidate = glyph["c"]
        if all(categories.alias(c) in ("LATIN", "COMMON") for c in candidate):
            return str(candidate)
    return ch


@lru_cache(maxsize=8192)
def _skeleton_char(ch: str) -> str:
    # Latin (Vietnamese included, marks and all) and common characters stay as typed, so
    # "dù" and "du" remain different words; only other scripts' look-alikes are mapped.
    if ch.isascii() or categories.alias(ch) in ("LATIN", "COMMON", "INHERITED"):
        return ch
    return _latin_homoglyph(ch)


def skeleton(text: str) -> str:
    """`normalize`, then each look-alike letter of another script as the Latin it imitates.

    For matching only (banned words, names), never for display: "ѕсаm" -> "scam". The
    confusables data is Unicode's (UTS #39 confusables.txt, via confusable-homoglyphs).
    """
    text = normalize(text)
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", "".join(_skeleton_char(ch) for ch in text))
