"""VietQR payloads: structure per the NAPAS/EMVCo profile, CRC, and the QR image round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.errors import InvalidInput
from shop.payments.bank_transfer import render_png
from shop.payments.vietqr import MAX_AMOUNT, crc16_ccitt, transfer_payload
from tests.vietqr_reader import crc_ok, decode_qr, parse_tlv, transfer


def test_crc_matches_the_standard_check_value() -> None:
    """CRC-16/CCITT-FALSE of "123456789" is 0x29B1, the catalogue's check value."""
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_payload_carries_account_amount_and_reference() -> None:
    """A transfer payload has every NAPAS field in place, and its CRC verifies."""
    payload = transfer_payload(
        bank_bin="970436", account="0011001234567", amount=750_000, purpose="FL1A2B3C4D5E"
    )
    assert transfer(payload) == {
        "format": "01",
        "initiation": "12",
        "guid": "A000000727",
        "service": "QRIBFTTA",
        "bin": "970436",
        "account": "0011001234567",
        "currency": "704",
        "amount": "750000",
        "country": "VN",
        "purpose": "FL1A2B3C4D5E",
        "crc": payload[-4:],
    }
    assert crc_ok(payload)
    assert list(parse_tlv(payload)) == ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_qr_image_decodes_to_the_payload() -> None:
    """The PNG the server serves decodes (zxing-cpp) to exactly the payload."""
    payload = transfer_payload(
        bank_bin="970422", account="1234567890123456789", amount=MAX_AMOUNT, purpose="FL00FFEE99AA"
    )
    assert decode_qr(render_png(payload)) == [payload]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("bank_bin", {"bank_bin": "97043"}),
        ("bank_bin", {"bank_bin": "97043a"}),
        ("account", {"account": "0011-001"}),
        ("account", {"account": "1" * 20}),
        ("amount", {"amount": 0}),
        ("amount", {"amount": -5}),
        ("amount", {"amount": MAX_AMOUNT + 1}),
        ("amount", {"amount": 250_000.0}),
        ("amount", {"amount": True}),
        ("amount", {"amount": "250000"}),
        (None, {"purpose": "Trả tiền vải"}),
        (None, {"purpose": "X" * 26}),
        (None, {"purpose": ""}),
    ],
)
def test_bad_inputs_are_refused(field: str | None, kwargs: dict[str, object]) -> None:
    """Malformed BINs and accounts, non-integer or out-of-range amounts, unsafe notes: refused."""
    args: dict[str, object] = {
        "bank_bin": "970436",
        "account": "0011001234567",
        "amount": 1,
        "purpose": "FL1",
    }
    args.update(kwargs)
    with pytest.raises(InvalidInput) as err:
        transfer_payload(**args)  # type: ignore[arg-type]
    assert err.value.details.get("field") == field


@given(
    amount=st.integers(min_value=1, max_value=MAX_AMOUNT),
    account=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=19),
    purpose=st.text(alphabet="0123456789ABCDEF ", min_size=1, max_size=25).filter(str.strip),
)
def test_any_transfer_round_trips(amount: int, account: str, purpose: str) -> None:
    """For any integer amount, account and note, the parsed payload gives them back exactly."""
    payload = transfer_payload(bank_bin="970415", account=account, amount=amount, purpose=purpose)
    parsed = transfer(payload)
    assert (parsed["account"], int(parsed["amount"]), parsed["purpose"]) == (
        account,
        amount,
        purpose,
    )
    assert parsed["amount"] == str(amount) and crc_ok(payload)
