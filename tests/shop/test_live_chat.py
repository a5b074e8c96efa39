"""Tests for shop.live.chat: cleaning chat lines and names, banned words, phone masking."""

from __future__ import annotations

import unicodedata

import pytest

from shop.errors import InvalidInput
from shop.live.chat import BannedWord, ChatLimits, ChatRules

RULES = ChatRules(["đụ", "lừa đảo", "scam", "ngu"], ChatLimits(max_chars=20, max_bytes=30))


def test_text_is_nfc_normalised_and_stripped() -> None:
    """Decomposed Vietnamese (as some keyboards send it) comes out NFC, trimmed."""
    decomposed = unicodedata.normalize("NFD", "  Vải thiều ngon  ")
    assert RULES.clean_message(decomposed) == "Vải thiều ngon"


def test_markup_is_kept_as_plain_text() -> None:
    """HTML is not stripped or escaped: the page renders chat with textContent."""
    rules = ChatRules()
    xss = "<img src=x onerror=alert(1)>"
    assert rules.clean_message(xss) == xss
    assert rules.public_text(xss) == xss


@pytest.mark.parametrize(
    ("text", "limit"),
    [("a" * 21, "characters"), ("ệ" * 11, "bytes")],  # 11 x 3 bytes = 33 > 30
)
def test_limits_count_characters_and_bytes(text: str, limit: str) -> None:
    """Too many characters, or too many UTF-8 bytes, is refused with the field named."""
    with pytest.raises(InvalidInput) as caught:
        RULES.clean_message(text)
    assert limit in caught.value.message and caught.value.details["field"] == "text"


@pytest.mark.parametrize("text", ["", "   ", "a\u202eb", "a\u200bb", "x\x00", 42, None])
def test_empty_hidden_or_non_text_is_refused(text: object) -> None:
    """Blank lines, bidi overrides, zero-width and control characters, non-strings: refused."""
    with pytest.raises(InvalidInput):
        RULES.clean_message(text)


@pytest.mark.parametrize(
    "text",
    ["đụ", "Đụ!", "du ma", "DU", "bọn lừa đảo", "lua dao quá", "LỪA   ĐẢO", "SCAM", "ngu", "ngú"],
)
def test_banned_words_match_without_case_or_marks(text: str) -> None:
    """A banned word typed with other case, without its marks, or spaced out is refused."""
    assert RULES.has_banned_word(text)
    with pytest.raises(BannedWord) as caught:
        RULES.clean_message(text)
    assert caught.value.code == "banned_word"


@pytest.mark.parametrize(
    "text", ["dù sao cũng ngon", "dư 2 thùng", "lừa chọn", "scammer", "nguồn gốc rõ"]
)
def test_other_words_that_fold_alike_pass(text: str) -> None:
    """Whole words only, and a word typed with its own different marks is another word."""
    assert not RULES.has_banned_word(text)


def test_a_word_configured_without_marks_matches_every_marked_form() -> None:
    """Operators who list "ngu" get "ngủ" too: list the marked form to be precise."""
    assert RULES.has_banned_word("ngủ ngon")
    assert not ChatRules(["ngú"]).has_banned_word("ngủ ngon")
    assert ChatRules(["ngú"]).has_banned_word("ngu")


def test_no_banned_words_configured_allows_everything() -> None:
    """An empty list refuses nothing."""
    assert not ChatRules().has_banned_word("đụ lừa đảo")


def test_names_are_cleaned_and_checked() -> None:
    """Names collapse inner spaces, have their own limit, and may not carry banned words."""
    assert RULES.clean_name("  Chị   Hoa ") == "Chị Hoa"
    with pytest.raises(InvalidInput):
        RULES.clean_name("x" * 41)
    with pytest.raises(BannedWord):
        RULES.clean_name("Lừa Đảo")
    with pytest.raises(InvalidInput):
        RULES.clean_name(None)


def test_phone_numbers_are_masked_for_others() -> None:
    """Others see 0912•••678 for any written form of a mobile number; prices stay."""
    text = "gọi em 0912 345 678 hoặc +84 912.345.679, giá 250.000"
    assert ChatRules.public_text(text) == "gọi em 0912•••678 hoặc 0912•••679, giá 250.000"


@pytest.mark.parametrize(
    "text",
    [
        "s\u00adcam",  # soft hyphen
        "sc\u2061am",  # function application (invisible operator)
        "sca\u034fm",  # combining grapheme joiner
        "l\u00adừa đ\u034fảo",
        "ѕсаm",  # Cyrillic dze, es, a
        "ѕсаm quá",
        "ｓｃａｍ",  # full-width letters
        "lừа đảо",  # Cyrillic a and o inside Vietnamese words
    ],
)
def test_banned_words_hidden_by_invisible_or_look_alike_letters_are_caught(text: str) -> None:
    """Finding 9: soft hyphen, U+2061, U+034F and Cyrillic look-alikes no longer hide a word."""
    with pytest.raises(BannedWord):
        RULES.clean_message(text)


def test_look_alike_letters_in_names_are_caught() -> None:
    """A name spelled with Cyrillic letters that read as a banned word is refused."""
    with pytest.raises(BannedWord):
        RULES.clean_name("Ѕсаm Shop")


def test_stripped_characters_do_not_reach_other_viewers() -> None:
    """What is stored is the cleaned text: the ignorable characters are gone."""
    assert RULES.clean_message("ch\u00adào\u2061 cả\u034f nhà") == "chào cả nhà"


@pytest.mark.parametrize(
    "name", ["\u3164", "\u115f\u1160", "\u2800\u2800", "\u00ad", "...", "\ufe0e", " \u3000 "]
)
def test_blank_names_are_refused(name: str) -> None:
    """Finding 9: Hangul fillers, braille blanks, soft hyphens or dots only are no name."""
    with pytest.raises(InvalidInput) as caught:
        RULES.clean_name(name)
    assert caught.value.details["field"] == "name"


def test_emoji_names_are_still_names() -> None:
    """A name of an emoji alone is a name."""
    assert RULES.clean_name("🍒") == "🍒"


@pytest.mark.parametrize(
    "text",
    [
        "gọi ０９１２３４５６７８",
        "gọi ０９１２　３４５　６７８",
        "gọi ０９１２－３４５－６７８",
        "gọi ＋８４ ９１２３４５６７８",
    ],
)
def test_full_width_phone_numbers_are_masked(text: str) -> None:
    """Finding 9: a phone typed in full-width digits (and separators) is masked for others."""
    public = ChatRules.public_text(RULES.clean_message(text))
    assert public == "gọi 0912•••678"
    assert ChatRules.public_text(text) == "gọi 0912•••678"
