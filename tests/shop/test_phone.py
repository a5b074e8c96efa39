"""Tests for shop.phone: normalising, masking, and masking inside chat text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.errors import InvalidInput
from shop.phone import InvalidPhone, find_phones, mask_phone, mask_phones_in_text, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "(0912) 345 678",
        "+84 912345678",
        "+84912345678",
        "+84 (0) 912 345 678",
        "84912345678",
        "0084 912 345 678",
        "  0912345678  ",
        "０９１２３４５６７８",  # full-width digits
    ],
)
def test_normalize_accepts_common_forms(raw: str) -> None:
    """Every common way of writing the same mobile number gives "0912345678"."""
    assert normalize_phone(raw) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_normalize_accepts_every_mobile_prefix(prefix: str) -> None:
    """All five mobile ranges are accepted."""
    assert normalize_phone(prefix + "12345678") == prefix + "12345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "024 3826 1234",  # Hà Nội landline
        "0112345678",  # no such mobile range
        "091234567",  # 9 digits
        "09123456789",  # 11 digits
        "912345678",  # missing the leading 0
        "+1 212 555 0100",
        "0912abc678",
        "0912345678 ext 2",
        "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    ],
)
def test_normalize_refuses_non_mobiles(raw: str) -> None:
    """Landlines, wrong lengths, foreign numbers and letters are refused with invalid_phone."""
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "invalid_phone"


def test_error_does_not_echo_the_number() -> None:
    """The error message never contains the typed number, since errors end up in logs."""
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("0112345678")
    assert "0112345678" not in str(caught.value)


def test_mask_phone() -> None:
    """A number is shown as its first 4 and last 3 digits."""
    assert mask_phone("0912345678") == "0912•••678"
    assert mask_phone("+84 912 345 678") == "0912•••678"


def test_mask_phone_refuses_invalid() -> None:
    """Masking something that is not a phone is refused rather than half-masked."""
    with pytest.raises(InvalidPhone):
        mask_phone("12345")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sđt em 0912345678 nhé", "sđt em 0912•••678 nhé"),
        ("gọi 0912 345 678", "gọi 0912•••678"),
        ("0912.345.678", "0912•••678"),
        ("zalo: 0912-345-678.", "zalo: 0912•••678."),
        ("+84 912 345 678 ạ", "0912•••678 ạ"),
        ("(+84) 912345678", "0912•••678"),
        ("84987654321", "0987•••321"),
        ("0 9 1 2 3 4 5 6 7 8", "0912•••678"),
        ("chốt 2 thùng, 0912345678, 0987654321", "chốt 2 thùng, 0912•••678, 0987•••321"),
    ],
)
def test_mask_phones_in_text(text: str, masked: str) -> None:
    """Phone numbers inside chat, however they are spaced, are masked."""
    assert mask_phones_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "chốt 2 thùng 5kg",
        "lấy 10 kg",
        "giá 250.000 đ",
        "1.500.000.000 đồng",
        "12.090.000.000",
        "mã đơn 20240612345",
        "024 3826 1234",
        "09123456789",  # 11 digits: not a phone, and not part of one
    ],
)
def test_mask_phones_in_text_leaves_other_numbers(text: str) -> None:
    """Quantities, prices, landlines and long numbers are left as typed."""
    assert mask_phones_in_text(text) == text


def test_find_phones_reports_spans() -> None:
    """find_phones gives the span and the national form of each number."""
    text = "a +84 912 345 678 b"
    assert list(find_phones(text)) == [(2, 17, "0912345678")]


mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["03", "05", "07", "08", "09"]),
    st.text("0123456789", min_size=8, max_size=8),
)


@given(mobiles)
def test_mask_never_reveals_more_than_seven_digits(phone: str) -> None:
    """A masked number shows at most 7 of its 10 digits."""
    masked = mask_phone(phone)
    assert len(re.findall(r"\d", masked)) <= 7
    assert phone not in masked


@given(mobiles, st.lists(st.sampled_from(["", " ", ".", "-"]), min_size=9, max_size=9))
def test_masked_chat_never_contains_the_middle_digits(phone: str, seps: list[str]) -> None:
    """However the number is spaced in chat, its hidden middle digits never survive masking."""
    typed = phone[0] + "".join(sep + digit for sep, digit in zip(seps, phone[1:], strict=True))
    out = mask_phones_in_text(f"chốt 2 thùng {typed} nhé")
    assert "•••" in out
    assert phone not in re.sub(r"\D", "", out)
