"""The serving process's garbage collector: startup's objects frozen, young ones swept rarely.

Startup leaves about 265,000 long-lived objects in the heap (the address index of
shop/divisions.py most of them). CPython's default thresholds (700, 10, 10) then cost an
order-taking process dearly: measured at 500 orders/s, about 16 % of the event loop's CPU
went to the collector, and each full pass walked that whole heap for about 200 ms, during
which no request is answered (the order path's p99). Two standard remedies, both only in
a process that serves (`farmlive serve`, the benches), never in a test process that builds
many apps:

- `settle()` right after startup: one full collection, then `gc.freeze()` moves every
  surviving object into the permanent generation, which later passes never walk.
- `tune()`: the youngest generation is collected after 10,000 net container allocations
  instead of 700. A request allocates a few hundred and frees nearly all of them by
  reference counting, so passes find little; fewer, larger passes cost less in all.

Reference cycles are still collected; only the objects alive at startup are exempt, and
they live as long as the process.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 20, 100)


def tune() -> None:
    gc.set_threshold(*THRESHOLDS)


def settle() -> None:
    gc.collect()
    gc.freeze()
