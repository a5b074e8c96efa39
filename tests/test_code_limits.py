"""Size limits (STYLE.md): no module over 400 lines in shop/, no function over 60 lines in
the order wing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

ORDER_WING = [
    "shop/lifecycle.py",
    "shop/order_status.py",
    "shop/orders.py",
    "shop/ordering.py",
    "shop/placing.py",
    "shop/order_moves.py",
    "shop/gate_sync.py",
    "shop/gate_keeper.py",
    "shop/hold_expiry.py",
    "shop/order_sessions.py",
    "shop/order_tokens.py",
    "shop/order_code.py",
    "shop/order_record.py",
    "shop/order_reports.py",
    "shop/group_commit.py",
    "shop/tasks.py",
    "shop/gate.py",
    "shop/payments/service.py",
    "shop/adapters/memory_gate.py",
    "shop/adapters/redis_gate.py",
    "shop/adapters/redis_gate_scripts.py",
    "shop/adapters/redis_client.py",
    "shop/adapters/sql/orders.py",
    "shop/adapters/sql/order_rows.py",
    "shop/adapters/sql/order_reports.py",
    "shop/adapters/sql/payment_ledger.py",
    "shop/adapters/sql/transitions.py",
    "shop/adapters/sql/recorder.py",
    "server/services.py",
    "server/payments.py",
    "server/routes/orders.py",
    "server/routes/payments.py",
    "bench/orders.py",
]


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "shop").rglob("*.py"))
)
def test_shop_modules_stay_small(path: str) -> None:
    """Every module in shop/ has at most 400 lines."""
    lines = len((ROOT / path).read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path} has {lines} lines"


@pytest.mark.parametrize("path", ORDER_WING)
def test_order_wing_functions_stay_short(path: str) -> None:
    """Every function of the order wing has at most 60 lines (decorators and docstring in)."""
    tree = ast.parse((ROOT / path).read_text())
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path}: {', '.join(long)}"
