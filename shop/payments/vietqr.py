"""VietQR payloads: the NAPAS profile of the EMVCo merchant-presented QR. Pure, no I/O.

A payload is a string of TLV fields (2-digit tag, 2-digit length, value):

    00 "01"            payload format indicator
    01 "12"            point of initiation: dynamic (the amount is part of the code)
    38 ...             merchant account: 00 GUID "A000000727" (NAPAS),
                       01 beneficiary (00 acquirer BIN, 01 account number),
                       02 service code "QRIBFTTA" (transfer to an account)
    53 "704"           currency: VND (ISO 4217 numeric)
    54 amount          whole đồng, digits only
    58 "VN"            country
    62 ...             additional data: 08 purpose of transaction = the transfer note
    63 CRC             CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything
                       before it, "6304" included, as 4 upper-case hex digits

Every value is ASCII, so lengths in characters are lengths in bytes. Banking apps put
the purpose into the transfer note, which is how staff match a transfer to an order.
"""

from __future__ import annotations

import re

from shop.errors import InvalidInput

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
MAX_AMOUNT = 10**13 - 1  # EMVCo allows 13 characters for the amount

_BIN = re.compile(r"\d{6}")
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")
# Banks drop or mangle anything else in a transfer note; 25 is the longest they all keep.
_PURPOSE = re.compile(r"[0-9A-Za-z ]{1,25}")


def tlv(tag: str, value: str) -> str:
    """One field: tag, two-digit length, value."""
    if len(tag) != 2 or not tag.isdigit():
        raise ValueError(f"bad EMV tag {tag!r}")
    if not 0 < len(value) <= 99 or not value.isascii():
        raise ValueError(f"EMV field {tag} must be 1..99 ASCII characters")
    return f"{tag}{len(value):02d}{value}"


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def transfer_payload(*, bank_bin: str, account: str, amount: int, purpose: str) -> str:
    """The VietQR string for a transfer of `amount` đồng to `account` at bank `bank_bin`."""
    if not _BIN.fullmatch(bank_bin):
        raise InvalidInput("the bank BIN must be 6 digits", field="bank_bin")
    if not _ACCOUNT.fullmatch(account):
        raise InvalidInput("the bank account must be 1..19 letters or digits", field="account")
    # bool is an int subclass; a True amount is a bug upstream, never one đồng.
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(f"the amount must be an integer in 1..{MAX_AMOUNT} đồng", field="amount")
    if not _PURPOSE.fullmatch(purpose):
        raise InvalidInput("the transfer note must be 1..25 letters, digits or spaces")
    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", SERVICE_TO_ACCOUNT)
    body = (
        tlv("00", "01")
        + tlv("01", "12")
        + tlv("38", merchant)
        + tlv("53", CURRENCY_VND)
        + tlv("54", str(amount))
        + tlv("58", COUNTRY_VN)
        + tlv("62", tlv("08", purpose))
        + "6304"
    )
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"
