"""Debian's Chromium as the benches and the browser tests launch it (headless, by path).

Nothing downloads a browser: Playwright is pointed at `/usr/bin/chromium`. The flags keep
Chromium's own network chatter (component updates, sync, background fetches) off, so
nothing leaves the machine, and let video play without a user's gesture.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# A viewer's browser: no camera permission, so its host candidates are mDNS names.
QUIET_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
# A host's browser: a fake camera and microphone, and a fake prompt that grants them
# (to every page, which then offers real host addresses instead of mDNS names).
FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    *QUIET_ARGS,
]
