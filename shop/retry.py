"""Backoff for jobs that talk to the outside (carriers, message providers)."""

from __future__ import annotations

from datetime import datetime, timedelta

# A provider down for an afternoon is retried for a day; after that staff decide.
MAX_ATTEMPTS = 12


def backoff_seconds(attempts: int, *, base: float = 5.0, cap: float = 3600.0) -> float:
    """Seconds to wait before attempt number `attempts + 1`: 5, 10, 20, ... capped at an hour."""
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


def next_attempt(now: datetime, attempts: int) -> datetime | None:
    """When to try again after `attempts` failures; None once the job should stop trying."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=backoff_seconds(attempts))
