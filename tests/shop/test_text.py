"""Tests for shop.text: clean_text refuses hidden characters and enforces limits; fold matches."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.errors import InvalidInput
from shop.text import clean_text, fold, skeleton


def clean(value: str, **kwargs: object) -> str:
    """Call clean_text with roomy default limits."""
    options: dict[str, object] = {"max_chars": 50, "max_bytes": 200, "field": "name"}
    options.update(kwargs)
    return clean_text(value, **options)  # type: ignore[arg-type]


def test_normalises_to_nfc_and_strips() -> None:
    """Decomposed input comes back composed (NFC) and without surrounding whitespace."""
    decomposed = unicodedata.normalize("NFD", "  Vải thiều Lục Ngạn \u00a0")
    assert clean(decomposed) == "Vải thiều Lục Ngạn"


@pytest.mark.parametrize(
    "value",
    [
        "Nguyễn\x00Văn A",  # NUL
        "bell\x07",
        "del\x7fete",
        "c1\x85control",
        "tab\there",
        "line\nbreak",
        "cr\rhere",
    ],
)
def test_refuses_control_characters(value: str) -> None:
    """C0 and C1 control characters, tab and (single-line) newlines are refused."""
    with pytest.raises(InvalidInput, match="name contains a control character"):
        clean(value)


@pytest.mark.parametrize(
    "char",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_refuses_bidi_controls(char: str) -> None:
    """Bidi embedding, override and isolate characters are refused."""
    with pytest.raises(InvalidInput, match="invisible"):
        clean(f"Shop{char}Official")


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff"])
def test_refuses_zero_width_characters(char: str) -> None:
    """Zero-width characters between letters are refused, as they make lookalike names."""
    with pytest.raises(InvalidInput, match="invisible"):
        clean(f"Hợp{char}tác xã")


def test_allows_zero_width_joiner_inside_emoji() -> None:
    """The farmer emoji (man + ZWJ + rice) is a real sequence and passes."""
    assert clean("Bác nông dân 👨\u200d🌾") == "Bác nông dân 👨\u200d🌾"


def test_refuses_lone_surrogate() -> None:
    """A lone surrogate (from a JSON escape) is refused before it breaks UTF-8 encoding."""
    with pytest.raises(InvalidInput, match="invalid character"):
        clean("a\ud800b")


def test_multiline_keeps_newlines_and_folds_crlf() -> None:
    """Multiline text keeps newlines, with browser CRLF turned into LF."""
    assert clean("dòng 1\r\ndòng 2\rdòng 3\n", multiline=True) == "dòng 1\ndòng 2\ndòng 3"


def test_multiline_still_refuses_other_controls() -> None:
    """Allowing newlines does not allow NUL."""
    with pytest.raises(InvalidInput):
        clean("dòng 1\n\x00", multiline=True)


def test_enforces_character_limit() -> None:
    """Text over max_chars is refused with the limit in the message and details."""
    with pytest.raises(InvalidInput, match="at most 5 characters") as caught:
        clean("abcdef", max_chars=5)
    assert caught.value.details == {"field": "name", "limit": 5}


def test_enforces_byte_limit_for_vietnamese() -> None:
    """Vietnamese letters take up to 3 UTF-8 bytes, so the byte limit can bite first."""
    assert len("ệệệ".encode()) == 9
    assert clean("ệệệ", max_bytes=9) == "ệệệ"
    with pytest.raises(InvalidInput, match="at most 8 bytes"):
        clean("ệệệ", max_bytes=8)


def test_empty_is_refused_when_required() -> None:
    """Whitespace-only input counts as empty and is refused by default."""
    with pytest.raises(InvalidInput, match="name is required") as caught:
        clean(" \u00a0 ")
    assert caught.value.code == "invalid_input"


def test_empty_is_allowed_when_optional() -> None:
    """An optional field may be empty."""
    assert clean("   ", required=False) == ""


def test_refuses_non_string() -> None:
    """Passing a non-string is a programming error, not user input."""
    with pytest.raises(TypeError):
        clean(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Vải Thiều", "vai thieu"),
        ("vải thiều", "vai thieu"),
        ("ĐẮK LẮK", "dak lak"),
        ("Đường  \t Trường   Sơn ", "duong truong son"),
        ("Hoà Bình", "hoa binh"),  # old-style tone placement
        ("Hòa Bình", "hoa binh"),
        ("Chuối ngự Ưu đãi Ơn", "chuoi ngu uu dai on"),
        ("ｖｌ５", "vl5"),  # full-width letters from some phone keyboards
    ],
)
def test_fold(typed: str, folded: str) -> None:
    """fold lowercases, drops diacritics (đ included) and collapses whitespace."""
    assert fold(typed) == folded


def test_fold_matches_with_and_without_diacritics() -> None:
    """The point of fold: "vai thieu" and "vải thiều" compare equal."""
    assert fold("vai thieu") == fold("VẢI THIỀU") == fold(unicodedata.normalize("NFD", "vải thiều"))


@given(st.text(max_size=60), st.integers(1, 40), st.integers(1, 120), st.booleans())
def test_clean_text_output_is_nfc_and_within_limits(
    value: str, max_chars: int, max_bytes: int, multiline: bool
) -> None:
    """Whatever goes in, clean_text returns stripped NFC text within both limits, or refuses."""
    try:
        out = clean_text(
            value, max_chars=max_chars, max_bytes=max_bytes, field="f", multiline=multiline
        )
    except InvalidInput:
        return
    assert unicodedata.is_normalized("NFC", out)
    assert out == out.strip()
    assert 0 < len(out) <= max_chars
    assert len(out.encode("utf-8")) <= max_bytes
    assert not any(unicodedata.category(c) == "Cc" for c in out if c != "\n")


@given(st.text())
def test_fold_is_idempotent(value: str) -> None:
    """Folding folded text changes nothing."""
    assert fold(fold(value)) == fold(value)


@given(st.text())
def test_fold_leaves_no_marks_or_uppercase(value: str) -> None:
    """Folded text has no combining marks, no đ, no uppercase and no doubled spaces."""
    out = fold(value)
    assert not any(unicodedata.combining(c) for c in out)
    assert "đ" not in out
    assert out == out.casefold()
    assert "  " not in out


@pytest.mark.parametrize("char", ["\u00ad", "\u2061", "\u034f", "\u180e", "\ufe01", "\U000e0041"])
def test_strips_default_ignorable_and_format_characters(char: str) -> None:
    """Soft hyphen, invisible operators, the grapheme joiner, tags: stripped, not kept."""
    assert clean(f"Vải{char} thiều") == "Vải thiều"


def test_normalises_compatibility_forms() -> None:
    """NFKC: full-width digits and letters and ligatures become what they look like."""
    assert clean("ｖｌ５ ０９１２ ﬁ") == "vl5 0912 fi"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("ѕсаm", "scam"), ("Ρаypal", "Paypal"), ("lừа đảо", "lừa đảo"), ("vải thiều", "vải thiều")],
)
def test_skeleton_maps_look_alikes_of_other_scripts_to_latin(typed: str, expected: str) -> None:
    """Cyrillic and Greek look-alikes become Latin; Vietnamese letters keep their marks."""
    assert skeleton(typed) == expected
