"""axe-core in a Playwright page: fail a browser test on serious or critical violations.

axe is vendored under tests/e2e/vendor/axe-core (a test asset, not served by farmlive). It
goes in through the DevTools protocol (`page.evaluate`), which the page's CSP does not
govern, so pages are checked with their real policy on.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A/AA plus axe's best practices: what a Vietnamese public-sector page is held to.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any, *, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every axe violation on the page as it is now: rule id, impact, help and targets."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    result = page.evaluate(
        """async ([tags, exclude]) => {
            const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
            const r = await axe.run(context, {runOnly: {type: "tag", values: tags},
                                              resultTypes: ["violations"]});
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }""",
        [TAGS, list(exclude)],
    )
    return list(result)


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']} -> {', '.join(v['targets'])}" for v in violations
    )


def assert_accessible(page: Any, what: str, *, exclude: tuple[str, ...] = ()) -> None:
    """Fail with a readable list when axe finds a serious or critical violation."""
    bad = [v for v in axe_violations(page, exclude=exclude) if v["impact"] in BLOCKING]
    assert not bad, f"axe found serious/critical violations on {what}:\n{describe(bad)}"
