"""Fault knobs shared by the in-process carrier and messaging fakes."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass
class Faults:
    """Per path: answer 503 without doing the work ("down"), or do it and drop the answer
    ("lost": the client sees a connection error)."""

    plans: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, path: str, kind: str, times: int = 1) -> None:
        self.plans.setdefault(path, []).extend([kind] * times)

    def take(self, path: str) -> str | None:
        plan = self.plans.get(path)
        return plan.pop(0) if plan else None


def lost(request: httpx.Request) -> httpx.ConnectError:
    return httpx.ConnectError("answer lost (fake)", request=request)
