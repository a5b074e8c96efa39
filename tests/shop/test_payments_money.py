"""Money is integer đồng end to end: no float in the payment code, and exact amounts out."""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.adapters.stripe_payments import StripePayments
from shop.errors import InvalidInput
from shop.order_status import OrderStatus
from shop.orders import Order
from tests.fakes.stripe_fake import FakeStripe

ROOT = Path(__file__).resolve().parents[2]
MONEY_MODULES = [
    *sorted((ROOT / "shop" / "payments").glob("*.py")),
    ROOT / "shop" / "adapters" / "stripe_payments.py",
]


def float_uses(path: Path) -> list[str]:
    """Every float literal, `float` name, true division or round() in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"{path.name}:{line} float literal {node.value!r}")
        elif isinstance(node, ast.Name) and node.id in ("float", "round", "Decimal"):
            found.append(f"{path.name}:{line} {node.id}")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"{path.name}:{line} true division")
    return found


def test_the_scan_sees_floats(tmp_path: Path) -> None:
    """The scanner finds a float literal, a float() call and a true division (no vacuous pass)."""
    probe = tmp_path / "probe.py"
    probe.write_text("a = 1.5\nb = float(2)\nc = 3 / 4\nd = 7 // 2\n")
    assert len(float_uses(probe)) == 3


@pytest.mark.parametrize("path", MONEY_MODULES, ids=lambda p: p.name)
def test_payment_code_has_no_float(path: Path) -> None:
    """shop/payments and the Stripe adapter never use floats, true division or rounding."""
    assert float_uses(path) == []


def order(quantity: int, unit_price: int) -> Order:
    now = datetime.now(UTC)
    return Order(
        id=str(uuid.uuid4()),
        session_id=1,
        offer_id=1,
        lot_id=1,
        idempotency_key="key-12345678",
        request_hash="0" * 64,
        token_hash="0" * 64,
        status=OrderStatus.PENDING_PAYMENT,
        quantity=quantity,
        grams=quantity * 5_000,
        unit_price=unit_price,
        total=quantity * unit_price,
        currency="VND",
        buyer_name="Anh Nam",
        buyer_phone="0987654321",
        province_code=None,
        province_name="Bắc Giang",
        ward_code=None,
        ward_name="Xã Lục Ngạn",
        street="Thôn 1",
        payment_method="stripe",
        payment_ref=None,
        hold_expires_at=None,
        created_at=now,
        updated_at=now,
        flags=None,
    )


PROVIDER = StripePayments(
    api_key="sk_test_x",
    webhook_secret="whsec_x",
    public_url="http://x",
    hold_seconds=900,
    http_client=FakeStripe(),
)


@given(
    quantity=st.integers(min_value=1, max_value=1000),
    unit_price=st.integers(min_value=1, max_value=10**10),
)
def test_checkout_amounts_are_exact_dong(quantity: int, unit_price: int) -> None:
    """Stripe gets unit_amount == the price in đồng (VND is zero-decimal), as an int, for any price."""
    params = PROVIDER.checkout_params(order(quantity, unit_price), "token-123")
    [item] = params["line_items"]
    unit_amount = item["price_data"]["unit_amount"]  # type: ignore[typeddict-item]
    assert type(unit_amount) is int and unit_amount == unit_price
    assert type(params["expires_at"]) is int
    assert unit_amount * item["quantity"] == quantity * unit_price  # type: ignore[typeddict-item]


@pytest.mark.parametrize("bad", [250_000.0, True, "250000", 0, -1])
def test_non_integer_prices_are_refused(bad: object) -> None:
    """A float, bool, text, zero or negative price never reaches Stripe."""
    broken = order(1, 1)
    object.__setattr__(broken, "unit_price", bad)
    object.__setattr__(broken, "total", bad)
    with pytest.raises(InvalidInput, match="integer"):
        PROVIDER.checkout_params(broken, "token-123")
