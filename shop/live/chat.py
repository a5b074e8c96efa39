"""Chat rules: clean what viewers type, refuse banned words, mask phone numbers for others."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from shop.errors import InvalidInput
from shop.phone import mask_phones_in_text
from shop.text import clean_text, fold, skeleton


class BannedWord(InvalidInput):
    """The message contains a word this live room does not allow."""

    code = "banned_word"


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_chars: int = 300
    max_bytes: int = 1200
    name_max_chars: int = 40
    name_max_bytes: int = 160


_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class _Banned:
    folded: tuple[str, ...]  # for matching
    typed: tuple[str, ...]  # as configured, lowercased NFC (diacritics kept)


class ChatRules:
    """What a chat line must look like before anyone else sees it."""

    def __init__(self, banned_words: Iterable[str] = (), limits: ChatLimits | None = None) -> None:
        self.limits = limits or ChatLimits()
        self._banned: list[_Banned] = []
        for entry in banned_words:
            typed = tuple(_WORD.findall(skeleton(entry).lower()))
            if typed:
                self._banned.append(_Banned(tuple(fold(w) for w in typed), typed))

    def clean_name(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise InvalidInput("name must be text", field="name")
        name = clean_text(
            raw,
            max_chars=self.limits.name_max_chars,
            max_bytes=self.limits.name_max_bytes,
            field="name",
        )
        name = " ".join(name.split())
        if not any(unicodedata.category(ch)[0] in "LNS" for ch in name):
            # Dots, dashes or blank-looking symbols only: nobody can tell who said what.
            raise InvalidInput("name needs at least one letter, digit or emoji", field="name")
        if self.has_banned_word(name):
            raise BannedWord("this name is not allowed here", field="name")
        return name

    def clean_message(self, raw: object) -> str:
        """NFC, no hidden characters, within limits, no banned word; else `InvalidInput`."""
        if not isinstance(raw, str):
            raise InvalidInput("text must be text", field="text")
        text = clean_text(
            raw, max_chars=self.limits.max_chars, max_bytes=self.limits.max_bytes, field="text"
        )
        if self.has_banned_word(text):
            raise BannedWord(field="text")
        return text

    def has_banned_word(self, text: str) -> bool:
        """Whole-word match, ignoring case and diacritics.

        Typing a banned word without its tone marks ("du" for "đụ") still matches; typing
        another word that only folds to the same letters with its own marks ("dù", "dư")
        does not, since Vietnamese syllables differ by their marks alone.
        """
        if not self._banned:
            return False
        # The skeleton: ignorable characters gone, Cyrillic/Greek look-alikes made Latin.
        typed = _WORD.findall(skeleton(text).lower())
        folded = [fold(w) for w in typed]
        for banned in self._banned:
            size = len(banned.folded)
            for start in range(len(typed) - size + 1):
                if all(
                    _same_word(typed[start + i], folded[start + i], banned, i) for i in range(size)
                ):
                    return True
        return False

    @staticmethod
    def public_text(text: str) -> str:
        """What other viewers see: phone numbers masked ("0912•••678")."""
        return mask_phones_in_text(text)


def _same_word(typed: str, folded: str, banned: _Banned, i: int) -> bool:
    if folded != banned.folded[i]:
        return False
    if typed == banned.typed[i]:
        return True
    # Unmarked on either side matches; two different sets of marks are two words.
    return typed == folded or banned.typed[i] == banned.folded[i]
