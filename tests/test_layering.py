"""The dependency rule: server -> shop, stream; shop and stream stay pure and independent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = {"fastapi", "starlette", "server", "uvicorn"}


def imported_roots(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", ["shop", "stream"])
def test_core_packages_do_not_import_the_web_layer(package: str) -> None:
    """shop/ and stream/ never import FastAPI, Starlette, uvicorn or server/."""
    leaks = {name: files for name, files in imported_roots(package).items() if name in WEB}
    assert leaks == {}


def test_stream_does_not_import_shop() -> None:
    """The relay knows nothing about the shop."""
    assert "shop" not in imported_roots("stream")


def test_shop_does_not_import_stream() -> None:
    """The shop knows nothing about the relay."""
    assert "stream" not in imported_roots("shop")


def test_the_checker_sees_imports() -> None:
    """The scan really finds imports (so the tests above cannot pass vacuously)."""
    assert "fastapi" in imported_roots("server")
    assert "sqlalchemy" in imported_roots("shop")
