"""Comment-to-order ("chốt đơn"): read a buyer's chat line as a draft order, or None.

Live-sale buyers type orders into chat: "chốt 2 thùng 5kg", "VL5 x3", "+2", "lấy 1 yến".
Staff confirm drafts before they become orders, so this parser is deliberately timid:
whenever a line could mean two things (which offer, tấn or thùng, a question or an order)
it returns None rather than guess. Matching ignores diacritics, but where the buyer did
type them they are used to tell words apart ("mưa" rain is not "mua" buy).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from shop.phone import find_phones
from shop.text import fold


@dataclass(frozen=True, slots=True)
class OfferRef:
    """What the parser needs to know about an offer on sale in the session."""

    offer_id: int
    code: str  # "VL5"
    title: str  # "Vải thiều Lục Ngạn loại A - thùng 5 kg"
    product: str  # "Vải thiều"
    pack_grams: int
    price: int  # VND per pack


@dataclass(frozen=True, slots=True)
class Draft:
    """A parsed order: `quantity` packs of one offer, `grams` and `total` (VND) for all of them."""

    offer_id: int
    quantity: int
    grams: int
    total: int


MAX_QUANTITY = 999
_MAX_CHARS = 200  # an order is one short line; long text is conversation

_WEIGHTS = {"kg": 1000, "kgs": 1000, "kilo": 1000, "kilogam": 1000, "kilogram": 1000}
_WEIGHTS |= {"ky": 1000, "ki": 1000, "can": 1000, "g": 1, "gr": 1, "gam": 1, "gram": 1}
_WEIGHTS |= {"lang": 100, "yen": 10_000, "ta": 100_000, "tan": 1_000_000}
_PACKS = {"thung", "th", "hop", "box", "goi", "tui", "ket", "khay", "combo", "set", "sot", "bich"}
_MONEY = {"k", "nghin", "ngan", "tr", "trieu", "cu", "d", "vnd", "dong", "ty", "xu"}
_AMBIGUOUS_T = "t"  # "2t": thùng next to a pack weight ("2t 5kg"), else maybe tấn
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6}
_NUMBER_WORDS |= {"bay": 7, "tam": 8, "chin": 9, "muoi": 10}
_VERBS = {"chot", "lay", "dat", "mua", "xin", "order", "oder", "gui", "them"}
_PRONOUNS = {"minh", "mk", "em", "e", "toi", "tui", "to", "chi", "c", "anh", "a", "con", "chau"}
_NEGATIONS = {"khong", "ko", "k", "hong", "hok", "chua", "dung", "chang", "khoi"}
_MULTIPLY = {"x", "sl"}
_FILLERS = {"a", "ah", "oi", "nhe", "nha", "nhen", "ne", "luon", "voi", "di", "giup", "dum"}
_FILLERS |= {"gium", "nua", "don", "loai", "size", "so", "luong", "ban", "b", "shop", "ad"}
_FILLERS |= {"ok", "oke", "okie", "oki", "vang", "da", "u", "uh", "sdt", "dt", "cam", "on"}
_FILLERS |= _PRONOUNS | {"cho", "them", "lo"}
# Homographs once diacritics are gone: when the buyer typed these exact forms they meant
# another word ("mưa" rain, "đắt" expensive, "chờ" wait, "giờ" hour, "cần" need).
_NOT_KEYWORD = {"mưa", "múa", "mửa", "mùa", "đắt", "đất", "đạt", "dắt", "dát", "lạy", "lẫy"}
_NOT_KEYWORD |= {"chót", "chọt", "thèm", "thềm", "gùi", "xỉn", "chờ", "chó", "chở", "chỗ", "chợ"}
_NOT_KEYWORD |= {"cần", "cặn", "làng", "tân", "tận", "giờ", "cảm", "cám", "cấm", "cắm"}
# Phrases that make a line a question, a cancellation, a review or several items at once.
_NEVER = {"bao nhieu", "nhieu tien", "bao lau", "bao gio", "khi nao", "the nao", "re hon"}
_NEVER |= {"giam gia", "phi ship", "huy", "hom qua", "hom truoc", "lan truoc", "tuan truoc"}
_NEVER |= {"moi loai", "moi thu", "moi cai", "tra lai", "doi sang", "may ngay", "bao xa"}
# Question-ish words that are fine inside an order ("lấy 2 thùng được không?") but, without
# an order verb, mean the buyer is asking ("còn 5kg không", "giá 5kg").
_ASKING = {"gia", "bn", "sao", "con", "co"}
_ASKING_LAST = {"khong", "ko", "k", "hong", "hok", "ha", "chua", "nhi"}
# Other produce: "lấy 10kg xoài" must not become lychee just because lychee is on sale.
# The second group are other words without diacritics ("nhắn", "cảm ơn", "buổi", "vài"),
# so they count only when typed exactly.
_PRODUCE = {"xoai", "sau rieng", "thanh long", "mang cut", "chom chom", "dua hau", "vu sua"}
_PRODUCE |= {"gao", "ca phe", "mat ong", "quyt", "chuoi"}
_PRODUCE_EXACT = {"nhãn", "bưởi", "vải", "mít", "bơ"}

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num", "word" or "sym"
    raw: str  # lowercased as typed (diacritics kept)
    key: str  # folded
    glued: bool  # no space before it


@dataclass(slots=True)
class _Reading:
    counts: list[Fraction] = field(default_factory=list)  # packs
    grams: list[Fraction] = field(default_factory=list)
    maybe_t: list[Fraction] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)  # offer ids named by code
    products: set[int] = field(default_factory=set)  # offer ids whose product is named
    verb: bool = False
    shorthand: bool = False  # "+2", "x2", "VL5 3": unmistakable order syntax
    strict: bool = False  # a bare number after a verb ("lấy 2"): no stray words allowed
    asking: bool = False
    money: bool = False
    unknown: list[str] = field(default_factory=list)


def parse_order_message(
    text: str, offers: Sequence[OfferRef], *, pinned_offer_id: int | None = None
) -> Draft | None:
    """Read one chat line as an order for one of `offers`, or return None if it is not one.

    `pinned_offer_id` is the offer the host is showing; "+2" or "2 thùng" mean that offer
    when several are on sale.
    """
    if not offers or len(text) > _MAX_CHARS:
        return None
    tokens = _tokenize(text)
    if _says_never(tokens, offers):
        return None
    reading = _read(tokens, offers)
    if reading is None or not _is_order(reading):
        return None
    return _resolve(reading, offers, pinned_offer_id)


def _tokenize(text: str) -> list[_Token]:
    text = unicodedata.normalize("NFC", text).lower()
    # A phone number is never a quantity: blank it out before reading numbers.
    for start, end, _ in find_phones(text):
        text = text[:start] + " " * (end - start) + text[end:]
    tokens: list[_Token] = []
    last_end = -1
    for match in _TOKEN.finditer(text):
        raw = match.group()
        kind = "num" if raw[0].isdigit() else "word" if raw[0].isalpha() else "sym"
        tokens.append(_Token(kind, raw, fold(raw), match.start() == last_end))
        last_end = match.end()
    return tokens


def _says_never(tokens: list[_Token], offers: Sequence[OfferRef]) -> bool:
    words = [t for t in tokens if t.kind == "word"]
    keys = " " + " ".join(t.key for t in words) + " "
    if any(f" {phrase} " in keys for phrase in _NEVER):
        return True
    on_sale = " " + " ".join(fold(f"{o.product} {o.title}") for o in offers) + " "
    raws = {t.raw for t in words}
    named = [p for p in _PRODUCE if f" {p} " in keys] + [p for p in _PRODUCE_EXACT if p in raws]
    return any(f" {fold(p)} " not in on_sale for p in named)


def _read(tokens: list[_Token], offers: Sequence[OfferRef]) -> _Reading | None:
    """Walk the tokens once, collecting quantities, codes and intent; None if malformed."""
    reading = _Reading(products=_mentioned_products(tokens, offers))
    known = {w for o in offers for w in fold(f"{o.product} {o.title}").split()}
    # Longest first, so that "VL10" is not read as "VL1" followed by a 0.
    codes = sorted(((_code_key(o.code), o) for o in offers), key=lambda c: -len(c[0]))
    parts: list[tuple[str, Fraction]] = []  # what each number sits next to
    i = 0
    while i < len(tokens):
        token = tokens[i]
        offer, after = _match_code(tokens, i, codes)
        if offer is not None:
            reading.codes.add(offer.offer_id)
            parts.append(("code", Fraction(0)))
            i = after
        elif token.kind == "num" or _is_number_word(tokens, i):
            value, unit, i = _quantity(tokens, i)
            if value is None:
                return None  # "1,500" or "0912": not a number we can trust
            if unit is None:
                parts.append(("qty", value))
                continue
            if unit in _PACKS:
                reading.counts.append(value)
            elif unit in _WEIGHTS:
                reading.grams.append(value * _WEIGHTS[unit])
            elif unit in _MONEY:
                reading.money = True
            else:
                reading.maybe_t.append(value)
            parts.append(("unit", value))
        elif token.kind == "word" and _is_verb(tokens, i):
            previous = tokens[i - 1] if i else None
            if previous and (previous.key in _NEGATIONS or previous.raw == "đã"):
                return None  # "không lấy", "đã lấy": not an order now
            reading.verb = True
            parts.append(("verb", Fraction(0)))
            i += 2 if token.key == "cho" else 1  # "cho mình"
        else:
            _read_other(token, reading, parts, known)
            i += 1
    words = [t.key for t in tokens if t.kind == "word"]
    reading.asking |= bool(words) and words[-1] in _ASKING_LAST
    if not _place_bare_numbers(parts, reading):
        return None
    if reading.maybe_t:
        if not reading.grams:
            return None  # "2t" alone: 2 tấn or 2 thùng?
        reading.counts += reading.maybe_t  # "2t 5kg": 2 thùng of 5 kg
    return reading


def _read_other(
    token: _Token, reading: _Reading, parts: list[tuple[str, Fraction]], known: set[str]
) -> None:
    if token.key in _MULTIPLY or token.raw in ("*", "×"):
        parts.append(("mul", Fraction(0)))
    elif token.raw == "+":
        parts.append(("plus", Fraction(0)))
    elif token.raw == "?":
        reading.asking = True
    elif token.kind == "word":
        reading.asking |= token.key in _ASKING
        filler = token.key in _FILLERS and token.raw not in _NOT_KEYWORD  # "chờ" is not "cho"
        if not filler and token.key not in known:
            reading.unknown.append(token.key)


def _place_bare_numbers(parts: list[tuple[str, Fraction]], reading: _Reading) -> bool:
    """Give each unit-less number a role from its neighbours; False if one has none."""
    for i, (kind, value) in enumerate(parts):
        if kind != "qty":
            continue
        before = parts[i - 1][0] if i else ""
        after = parts[i + 1][0] if i + 1 < len(parts) else ""
        if before in ("plus", "mul", "code") or after in ("mul", "code"):
            reading.shorthand = True
        elif before == "verb":
            reading.strict = True
        elif value >= 1000:
            reading.money = True  # "250000": a price someone is quoting
            continue
        else:
            return False
        reading.counts.append(value)
    return True


def _is_order(reading: _Reading) -> bool:
    if len(reading.counts) > 1 or len(reading.grams) > 1 or len(reading.codes) > 1:
        return False  # several items in one line: staff read those
    if not (reading.counts or reading.grams):
        return False
    if reading.verb:
        return not (reading.strict and reading.unknown)
    if reading.asking:
        return False
    if reading.codes:
        return True
    if reading.shorthand:
        # "+2 nhé" is an order; an "x" and a digit lost in a chatty or technical line
        # ("<img src=x onerror=alert(1)>") is not.
        return len(reading.unknown) <= 2
    # Terse lines ("2 thùng 5kg", "5kg") are orders; anything chattier needs a verb.
    return not reading.unknown and not reading.money


def _resolve(
    reading: _Reading, offers: Sequence[OfferRef], pinned_offer_id: int | None
) -> Draft | None:
    candidates = [
        o
        for o in offers
        if (not reading.codes or o.offer_id in reading.codes)
        and (not reading.products or o.offer_id in reading.products)
    ]
    if reading.counts:
        packs = reading.counts[0]
        if reading.grams:  # "2 thùng 5kg": the weight says which pack
            candidates = [o for o in candidates if o.pack_grams == reading.grams[0]]
        offer = _pick(candidates, pinned_offer_id)
    else:
        weight = reading.grams[0]
        exact = [o for o in candidates if o.pack_grams == weight]
        dividing = [o for o in candidates if weight % o.pack_grams == 0]
        if not exact and dividing:
            # The largest pack that divides the weight: fewest boxes to pack and ship.
            largest = max(o.pack_grams for o in dividing)
            exact = [o for o in dividing if o.pack_grams == largest]
        offer = _pick(exact, pinned_offer_id)
        packs = weight / offer.pack_grams if offer else Fraction(0)
    if offer is None or packs.denominator != 1 or not 1 <= packs <= MAX_QUANTITY:
        return None
    quantity = int(packs)
    return Draft(offer.offer_id, quantity, quantity * offer.pack_grams, quantity * offer.price)


def _pick(candidates: list[OfferRef], pinned_offer_id: int | None) -> OfferRef | None:
    if len(candidates) == 1:
        return candidates[0]
    pinned = [o for o in candidates if o.offer_id == pinned_offer_id]
    return pinned[0] if pinned else None


def _mentioned_products(tokens: list[_Token], offers: Sequence[OfferRef]) -> set[int]:
    """Offers whose product the line names: in full ("vải thiều"), else by first word ("vải")."""
    words = " " + " ".join(t.key for t in tokens if t.kind == "word") + " "
    full = {o.offer_id for o in offers if f" {fold(o.product)} " in words}
    if full:
        return full
    first = {o.offer_id: fold(o.product).split()[0] for o in offers if fold(o.product)}
    return {oid for oid, w in first.items() if len(w) >= 3 and f" {w} " in words}


def _code_key(code: str) -> str:
    key = re.sub(r"[^a-z0-9]", "", fold(code))
    return "" if key.isdigit() else key  # an all-digit code would swallow quantities


def _match_code(
    tokens: list[_Token], i: int, codes: list[tuple[str, OfferRef]]
) -> tuple[OfferRef | None, int]:
    """An offer code starting at token i ("vl5", "VL5x3", "vl-5"); the index after it."""
    if tokens[i].kind == "sym" or (tokens[i].glued and i and tokens[i - 1].kind != "sym"):
        return None, i
    for code, offer in codes:
        typed, j = "", i
        while j < len(tokens) and len(typed) < len(code) and (j == i or tokens[j].glued):
            if tokens[j].kind != "sym":
                typed += tokens[j].key
            elif tokens[j].raw not in ("-", "."):
                break
            j += 1
        if not code or typed != code:
            continue
        nxt = tokens[j] if j < len(tokens) else None
        # "VL5x3" ends the code at x; "VL53" or "VL5kg" is not VL5.
        if nxt and nxt.glued and (nxt.kind == "num" or (nxt.kind == "word" and nxt.key != "x")):
            continue
        return offer, j
    return None, i


def _quantity(tokens: list[_Token], i: int) -> tuple[Fraction | None, str | None, int]:
    """The number at token i and the unit word after it, if any: (value, unit, next index)."""
    token = tokens[i]
    value = Fraction(_NUMBER_WORDS[token.key]) if token.kind == "word" else _number(token.key)
    j = i + 1
    unit = None
    if j < len(tokens) and tokens[j].kind == "word" and _is_unit(tokens[j]):
        unit = tokens[j].key
        j += 1
        if unit in ("ki", "ky") and j < len(tokens) and tokens[j].key == "lo":
            j += 1  # "ký lô"
        if value is not None and j < len(tokens) and tokens[j].key == "ruoi":
            value += Fraction(1, 2)  # "1 cân rưỡi" = 1.5 kg
            j += 1
    return value, unit, j


def _number(digits: str) -> Fraction | None:
    if digits.isdigit():
        # "0912": a fragment of a phone number or code, never a quantity.
        return None if digits.startswith("0") and len(digits) > 2 else Fraction(int(digits))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", digits):
        return Fraction(int(digits.replace(".", "")))  # Vietnamese thousands: 1.500
    if re.fullmatch(r"\d+[.,]\d{1,2}", digits):
        return Fraction(digits.replace(",", "."))  # 1,5 or 1.5
    return None  # "1,500": thousands in English, or 1.5 with a typo


def _is_unit(token: _Token) -> bool:
    key = token.key
    known = key in _WEIGHTS or key in _PACKS or key in _MONEY or key == _AMBIGUOUS_T
    return known and token.raw not in _NOT_KEYWORD


def _is_number_word(tokens: list[_Token], i: int) -> bool:
    token = tokens[i]
    if token.kind != "word" or token.key not in _NUMBER_WORDS or i + 1 >= len(tokens):
        return False
    unit = tokens[i + 1]
    return unit.kind == "word" and _is_unit(unit) and unit.key not in _MONEY


def _is_verb(tokens: list[_Token], i: int) -> bool:
    token = tokens[i]
    if token.raw in _NOT_KEYWORD:
        return False
    if token.key == "cho":  # "cho mình 2 thùng": give me
        return i + 1 < len(tokens) and tokens[i + 1].key in _PRONOUNS
    return token.key in _VERBS
