"""Give the C heap's free pages back to the system as calls end (glibc `malloc_trim`).

Every call allocates on several threads (SIP, media, the flow, the record's writer), and
glibc keeps what they free in per-thread arenas instead of returning it: the Python heap of
a line is flat after warm-up, yet its RSS crept up ~5 KiB per call (`scripts/bench_soak`),
which over months is what issue 14 measured. `malloc_trim(0)` hands the free pages back; it
takes a few milliseconds and ctypes releases the GIL meanwhile, so the media threads go on.
When no call is up, a full garbage collection runs first (it holds the GIL: never while a
stream is paced).
Where there is no glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("console.callflow")

EVERY_CALLS = 200
"""A busy line is trimmed after this many ended calls (an idle one when its last call ends):
a trim takes glibc's arena locks for a few ms, which a media thread allocating meanwhile
waits for, so a line that has calls up trims rarely."""
MIN_INTERVAL = 10.0
"""Seconds between two trims at the least."""


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


class HeapTrim:
    """Counts ended calls and trims the heap when the line goes idle or every `every`
    calls, never more often than `min_interval`."""

    def __init__(self, every: int = EVERY_CALLS, min_interval: float = MIN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic,
                 trim: Callable[[int], int] | None = None) -> None:
        self.every = every
        self.min_interval = min_interval
        self.clock = clock
        self._trim = trim if trim is not None else _load_trim()
        self._ended = 0
        self._last = -float("inf")
        self.trims = 0

    def call_ended(self, active: int) -> bool:
        """One call ended, `active` are still up; True if the heap was trimmed now."""
        self._ended += 1
        if self._trim is None or (active and self._ended < self.every):
            return False
        now = self.clock()
        if now - self._last < self.min_interval:
            return False
        self._last, self._ended = now, 0
        try:
            if not active:
                # No call is up, so no RTP stream to delay: a full collection frees the
                # reference cycles of the calls that ended (their heap is given back below).
                gc.collect()
            self._trim(0)
        except Exception:  # never the end of a call
            log.debug("malloc_trim failed", exc_info=True)
            return False
        self.trims += 1
        return True
