"""Continuous viewer timestamps across publisher reconnects."""

from __future__ import annotations

from stream.timeline import Timeline


def test_one_publisher_keeps_its_timestamps() -> None:
    """Within one publisher, timestamps pass through unchanged."""
    timeline = Timeline(90000, clock=lambda: 0.0)
    assert [timeline.map(1, pts) for pts in (0, 3000, 6000)] == [0, 3000, 6000]


def test_a_new_publisher_continues_after_the_gap() -> None:
    """A reconnecting publisher restarting at zero continues forward by the wall-clock gap."""
    now = [0.0]
    timeline = Timeline(90000, clock=lambda: now[0])
    timeline.map(1, 900000)
    now[0] = 2.0
    first = timeline.map(2, 0)
    assert first == 900000 + 2 * 90000
    assert timeline.map(2, 3000) == first + 3000


def test_an_instant_switch_still_moves_forward() -> None:
    """Even with no measurable gap the new publisher's first timestamp is later."""
    timeline = Timeline(48000, clock=lambda: 5.0)
    timeline.map(1, 960)
    assert timeline.map(2, 0) > 960
