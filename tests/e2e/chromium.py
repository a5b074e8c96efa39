"""Debian's Chromium under Playwright for a browser test, or a skip (a failure under CI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bench.chromium import CHROMIUM, FAKE_MEDIA_ARGS
from tests.e2e.procs import ROOT
from tests.services import services_required

SHOTS = ROOT / "test-artifacts" / "screenshots"


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (nothing downloads a browser), closed on exit."""
    if not CHROMIUM.exists():
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FAKE_MEDIA_ARGS)
        try:
            yield b
        finally:
            b.close()
