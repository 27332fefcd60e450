"""The process's start-up heap, moved out of the garbage collector's full scans once.

What exists once the console has started (the app and its stylesheet, the imported
modules, the store's mappings) lives as long as the process; a full (oldest-generation)
collection walks all of it — 50–120 ms each in `scripts/bench_review` — and lands on
whichever user action happens to allocate past the threshold (that was the supervisor call
log's p95 filter change). `gc.freeze()` moves every object alive now to a permanent
generation that collections skip; frozen objects are never collected, so this runs once
per process, when start-up is done (`DutyConsoleApp`, once the duty record is ready).
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> bool:
    """Collect once, then freeze what is alive; False (nothing done) if already done."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True


def heap_frozen() -> bool:
    """Whether `freeze_startup_heap` has run in this process."""
    return _frozen
