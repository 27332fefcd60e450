"""The console's long-lived heap, moved out of the garbage collector's full scans.

What exists once the console has started (the app and its stylesheet, the imported
modules, the store's mappings) — and, after a login, the role's screen with its widgets
and the modules it imported — lives as long as the process (or the shift); a full
(oldest-generation) collection walks all of it, 50–120 ms each in `scripts/bench_review`,
and lands on whichever user action happens to allocate past the threshold (that was the
supervisor call log's p95 filter change). `gc.freeze()` moves every object alive now to a
permanent generation that collections skip. Frozen objects are never collected, so each
milestone freezes once per process: start-up done, and the first login's screen shown.
"""

from __future__ import annotations

import gc

STARTED = "started"
LOGGED_IN = "logged in"

_done: set[str] = set()


def freeze_heap(milestone: str) -> bool:
    """Collect, then freeze what is alive; False (nothing done) if `milestone` was done."""
    if milestone in _done:
        return False
    _done.add(milestone)
    gc.collect()
    gc.freeze()
    return True


def frozen_at() -> frozenset[str]:
    """The milestones frozen so far in this process."""
    return frozenset(_done)
