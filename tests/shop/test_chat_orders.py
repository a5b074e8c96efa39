"""Tests for shop.chat_orders: real-style chat lines in, a draft order or None out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.chat_orders import MAX_QUANTITY, Draft, OfferRef, parse_order_message
from shop.text import fold

VL2 = OfferRef(1, "VL2", "Vải thiều Lục Ngạn loại A - hộp 2 kg", "Vải thiều", 2_000, 120_000)
VL5 = OfferRef(2, "VL5", "Vải thiều Lục Ngạn loại A - thùng 5 kg", "Vải thiều", 5_000, 250_000)
VL10 = OfferRef(3, "VL10", "Vải thiều Lục Ngạn loại A - thùng 10 kg", "Vải thiều", 10_000, 450_000)
NL3 = OfferRef(7, "NL3", "Nhãn lồng Hưng Yên - hộp 3 kg", "Nhãn lồng", 3_000, 150_000)
XC5 = OfferRef(9, "XC5", "Xoài cát Hòa Lộc - thùng 5 kg", "Xoài cát", 5_000, 300_000)

OFFERS = {
    "lychee": (VL2, VL5, VL10),  # one product, three pack sizes
    "one": (NL3,),  # a single offer on sale
    "mixed": (VL2, VL5, VL10, XC5),  # two products share the 5 kg pack size
}
BY_ID = {o.offer_id: o for group in OFFERS.values() for o in group}

# (message, offers on sale, pinned offer id, expected (offer id, packs) or None)
TABLE: list[tuple[str, str, int | None, tuple[int, int] | None]] = [
    # The brief's examples.
    ("chốt 2 thùng 5kg", "lychee", None, (2, 2)),
    ("chot 2 thung 5kg", "lychee", None, (2, 2)),
    ("lấy 10 kg vải", "lychee", None, (3, 1)),
    ("VL5 x3", "lychee", None, (2, 3)),
    ("vl5 3", "lychee", None, (2, 3)),
    ("+2", "lychee", 2, (2, 2)),
    ("+2", "one", None, (7, 2)),
    ("1 yến", "lychee", None, (3, 1)),
    ("2 tạ", "lychee", None, (3, 20)),
    ("1 tấn", "lychee", None, (3, 100)),
    ("3 hộp", "one", None, (7, 3)),
    ("3 hộp", "lychee", 1, (1, 3)),
    ("chốt 1 thùng 10kg", "lychee", None, (3, 1)),
    ("cho mình 2 thùng 5 ký", "lychee", None, (2, 2)),
    ("em lấy 5kg", "lychee", None, (2, 1)),
    ("đặt 4 thùng loại 2kg", "lychee", None, (1, 4)),
    ("chốt đơn 2 thùng", "lychee", 3, (3, 2)),
    ("chốt đơn 2 thùng", "one", None, (7, 2)),
    ("hai thùng 5kg", "lychee", None, (2, 2)),
    ("x2", "lychee", 3, (3, 2)),
    ("2t 5kg", "lychee", None, (2, 2)),
    # Typos, abbreviations, spacing and case.
    ("Chốt 2T 5KG", "lychee", None, (2, 2)),
    ("chôt 2 thùng 5kg", "lychee", None, (2, 2)),  # wrong tone mark
    ("lây 5kg", "lychee", None, (2, 1)),  # missing tone mark
    ("e lay 2 thung 10kg", "lychee", None, (3, 2)),
    ("cho e 3 hop", "one", None, (7, 3)),
    ("dat 1 thung 10 kg nha shop", "lychee", None, (3, 1)),
    ("chốt 2thùng5kg", "lychee", None, (2, 2)),
    ("vl5x3", "lychee", None, (2, 3)),
    ("VL10 x 1", "lychee", None, (3, 1)),
    ("vl2*4", "lychee", None, (1, 4)),
    ("2 vl10", "lychee", None, (3, 2)),
    ("VL5: 3", "lychee", None, (2, 3)),
    ("chot vl5 2 thung", "lychee", None, (2, 2)),
    ("sl 3 vl10", "lychee", None, (3, 3)),
    ("5kg x 2", "lychee", None, (2, 2)),
    ("2 x 5kg", "lychee", None, (2, 2)),
    ("ba thùng 10kg", "lychee", None, (3, 3)),
    ("năm cân", "lychee", None, (2, 1)),
    ("lấy 5 ký lô", "lychee", None, (2, 1)),
    ("mình lấy 2 yến", "lychee", None, (3, 2)),
    ("lấy 1,5 yến", "lychee", None, (2, 3)),  # 15 kg: only the 5 kg pack divides it
    ("lấy 6kg", "lychee", None, (1, 3)),
    ("lay 20kg", "lychee", None, (3, 2)),
    ("lấy 1 tạ vải thiều", "lychee", None, (3, 10)),
    ("VL5 10kg", "lychee", None, (2, 2)),
    ("2 thùng 5kg", "lychee", None, (2, 2)),
    ("5kg", "lychee", None, (2, 1)),
    ("2 thùng", "lychee", 3, (3, 2)),
    ("em lấy 2", "lychee", 2, (2, 2)),
    ("+1", "one", None, (7, 1)),
    ("cảm ơn shop, lấy 2 thùng 5kg nhé", "lychee", None, (2, 2)),
    ("mình ở Bắc Giang lấy 3 thùng 5kg nhé", "lychee", None, (2, 3)),
    ("lấy 2 thùng 5kg được không?", "lychee", None, (2, 2)),
    ("chốt 2 thùng 5kg sđt 0912 345 678", "lychee", None, (2, 2)),
    ("chốt 2 thùng 5kg 250k", "lychee", None, (2, 2)),
    ("lấy 2 thùng 5kg vải", "mixed", None, (2, 2)),
    ("lấy 10kg xoài", "mixed", None, (9, 2)),
    ("XC5 x1", "mixed", None, (9, 1)),
    # Not orders, or not clear enough to guess.
    ("<img src=x onerror=alert(1)>", "lychee", 2, None),
    ("x hay là 1 dạ em hỏi chút thôi", "lychee", 2, None),
    ("vải ngon quá", "lychee", None, None),
    ("giá bao nhiêu 5kg?", "lychee", None, None),
    ("5kg?", "lychee", None, None),
    ("còn 5kg không", "lychee", None, None),
    ("2 thùng 5kg bao nhiêu tiền", "lychee", None, None),
    ("bao giờ giao 2 thùng 5kg", "lychee", None, None),
    ("0912345678", "lychee", 2, None),
    ("chốt 0912345678", "lychee", 2, None),
    ("250k", "lychee", 2, None),
    ("5kg 250k", "lychee", None, None),  # someone quoting a price
    ("1 thùng 10kg 450.000đ", "lychee", None, None),
    ("chốt 0 thùng 5kg", "lychee", None, None),
    ("chốt 1000 thùng 5kg", "lychee", None, None),
    ("lấy 10 tấn", "lychee", None, None),  # 1,000 packs: over the limit
    ("2 thùng", "lychee", None, None),  # which pack size?
    ("3 hộp", "lychee", None, None),
    ("+2", "lychee", None, None),
    ("2t", "lychee", None, None),  # 2 tấn or 2 thùng?
    ("lấy 7kg", "lychee", None, None),  # no pack divides 7 kg
    ("lấy 2 thùng 7kg", "lychee", None, None),
    ("chốt 2,5 thùng 5kg", "lychee", None, None),
    ("chốt 2 thùng 5kg", "mixed", None, None),  # lychee or mango?
    ("chốt vl5 2 thùng 10kg", "lychee", None, None),  # code and weight disagree
    ("VL5 x3 VL10 x1", "lychee", None, None),
    ("2 thùng 5kg và 1 thùng 10kg", "lychee", None, None),
    ("mỗi loại 2 thùng", "lychee", None, None),
    ("vl53", "lychee", None, None),
    ("hủy 2 thùng 5kg", "lychee", None, None),
    ("huỷ đơn 2 thùng", "lychee", 2, None),
    ("em không lấy 5kg nữa", "lychee", None, None),
    ("đã chốt 2 thùng 5kg rồi", "lychee", None, None),
    ("hôm qua em lấy 2 thùng ngon lắm", "lychee", None, None),
    ("trời mưa 2 ngày rồi", "lychee", 2, None),
    ("troi mua 2 ngay roi", "lychee", 2, None),
    ("vải đắt quá 2 thùng 500k", "lychee", 2, None),
    ("lấy 10kg xoài", "lychee", None, None),  # mango is not on sale
    ("ngon quá 10 điểm", "lychee", 2, None),
    ("chờ 2 thùng nữa", "lychee", 2, None),
    ("lấy 1,500 kg", "lychee", None, None),  # 1.5 or 1500? do not guess
    ("chốt", "lychee", 2, None),
    ("", "lychee", 2, None),
]


def expected_draft(expected: tuple[int, int] | None) -> Draft | None:
    """Build the Draft a table row expects, with grams and total from the offer."""
    if expected is None:
        return None
    offer = BY_ID[expected[0]]
    packs = expected[1]
    return Draft(offer.offer_id, packs, packs * offer.pack_grams, packs * offer.price)


@pytest.mark.parametrize(("message", "offers", "pinned", "expected"), TABLE)
def test_table(
    message: str, offers: str, pinned: int | None, expected: tuple[int, int] | None
) -> None:
    """Each real-style chat line gives the expected draft, or None when it is not an order."""
    got = parse_order_message(message, OFFERS[offers], pinned_offer_id=pinned)
    assert got == expected_draft(expected)


POSITIVES = [row for row in TABLE if row[3] is not None]


@pytest.mark.parametrize(("message", "offers", "pinned", "expected"), POSITIVES)
def test_without_diacritics_reads_the_same(
    message: str, offers: str, pinned: int | None, expected: tuple[int, int] | None
) -> None:
    """Typing an order without diacritics gives the same draft as typing it with them."""
    got = parse_order_message(fold(message), OFFERS[offers], pinned_offer_id=pinned)
    assert got == expected_draft(expected)


def test_table_is_big_enough() -> None:
    """The table covers at least 45 messages, both orders and non-orders."""
    assert len(TABLE) >= 45
    assert len(POSITIVES) >= 20
    assert len(TABLE) - len(POSITIVES) >= 20


def test_no_offers_means_no_order() -> None:
    """With nothing on sale, nothing is an order."""
    assert parse_order_message("chốt 2 thùng 5kg", ()) is None


def test_overlong_message_is_not_an_order() -> None:
    """A paragraph is conversation, even if it contains an order-like phrase."""
    assert parse_order_message("chốt 2 thùng 5kg " + "a" * 300, OFFERS["lychee"]) is None


def test_pinned_offer_breaks_a_tie_between_equal_packs() -> None:
    """Two 5 kg offers: the pinned one wins, as it is the one being shown."""
    assert parse_order_message("chốt 2 thùng 5kg", OFFERS["mixed"], pinned_offer_id=9) == Draft(
        9, 2, 10_000, 600_000
    )


mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["03", "05", "07", "08", "09"]),
    st.text("0123456789", min_size=8, max_size=8),
)


@given(mobiles, st.sampled_from(["", " ", ".", "-"]))
def test_phone_numbers_never_become_quantities(phone: str, sep: str) -> None:
    """A phone number alone is never an order, and next to an order it changes nothing."""
    typed = sep.join([phone[:4], phone[4:7], phone[7:]])
    assert parse_order_message(f"chốt {typed}", OFFERS["one"]) is None
    assert parse_order_message(typed, OFFERS["one"], pinned_offer_id=7) is None
    with_order = parse_order_message(f"chốt 2 thùng 5kg {typed}", OFFERS["lychee"])
    assert with_order == Draft(2, 2, 10_000, 500_000)


@given(st.text(max_size=80), st.sampled_from(sorted(OFFERS)), st.sampled_from([None, 1, 2, 7]))
def test_any_text_gives_none_or_a_consistent_draft(
    message: str, offers: str, pinned: int | None
) -> None:
    """Arbitrary input never crashes, and any draft is for an offer on sale, within limits."""
    draft = parse_order_message(message, OFFERS[offers], pinned_offer_id=pinned)
    if draft is None:
        return
    offer = BY_ID[draft.offer_id]
    assert offer in OFFERS[offers]
    assert 1 <= draft.quantity <= MAX_QUANTITY
    assert draft.grams == draft.quantity * offer.pack_grams
    assert draft.total == draft.quantity * offer.price


@given(st.integers(-5, 2_000), st.sampled_from(["thùng", "hộp", "kg", "tạ"]))
def test_quantity_bounds(quantity: int, unit: str) -> None:
    """Quantities outside 1..999 packs are refused rather than clamped."""
    draft = parse_order_message(f"chốt {quantity} {unit}", OFFERS["one"])
    if draft is not None:
        assert 1 <= draft.quantity <= MAX_QUANTITY
