"""The NAPAS bank list (VietQR BINs) that cooperatives pick their account's bank from.

Data: shop/data/napas_banks.json, taken from the npm package vietnam-qr-pay (MIT; its
licence is next to the file), which tracks the list NAPAS publishes for VietQR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shop.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    short_name: str
    name: str
    code: str
    transfer: bool  # VietQR transfers into it work (some banks only receive)


@cache
def napas_banks() -> tuple[Bank, ...]:
    text = resources.files("shop.data").joinpath("napas_banks.json").read_text("utf-8")
    return tuple(Bank(**b) for b in json.loads(text)["banks"])


def require_bank(bin_code: str) -> Bank:
    for bank in napas_banks():
        if bank.bin == bin_code:
            return bank
    raise InvalidInput(f"{bin_code} is not a bank BIN on the NAPAS list", field="bank_bin")
