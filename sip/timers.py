"""Timers on an injected clock: answer moments, retransmissions (RFC 3261 §17.2.1), refreshes.

One thread sleeps until the earliest deadline (no polling), so `answer(at=t)` fires within a
few milliseconds of `t`.  Tests use a manual scheduler that runs due tasks when the fake
clock is advanced.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("sip.timers")

T1 = 0.5
"""RFC 3261 §17.1.1.1 round-trip estimate."""
T2 = 4.0
"""RFC 3261 §17.1.2.2 maximum retransmit interval for non-INVITE requests and responses."""
TIMER_H = 64 * T1
"""RFC 3261 §17.2.1: how long an INVITE server transaction waits for the ACK (32 s)."""


class TimerHandle:
    """A scheduled task; `cancel()` makes it a no-op."""

    __slots__ = ("cancelled", "fn", "name", "when")

    def __init__(self, when: float, fn: Callable[[], None], name: str) -> None:
        self.when = when
        self.fn = fn
        self.name = name
        self.cancelled = False

    def cancel(self) -> None:
        # The heap keeps a cancelled handle until its time (timer H: 32 s): it must not keep
        # what its closure holds (a call, its media, 2 s of audio) alive that long.
        self.cancelled = True
        self.fn = _nothing


class Scheduler(Protocol):
    clock: Callable[[], float]

    def call_at(self, when: float, fn: Callable[[], None], name: str = "") -> TimerHandle: ...
    def call_later(self, delay: float, fn: Callable[[], None], name: str = "") -> TimerHandle: ...
    def close(self) -> None: ...


def _nothing() -> None:
    """What a cancelled timer runs (nothing)."""


def _run(handle: TimerHandle) -> None:
    if handle.cancelled:
        return
    try:
        handle.fn()
    except Exception:
        log.exception("timer %s failed", handle.name)


class ThreadScheduler:
    """A heap of deadlines served by one thread that waits on a condition until the next one."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sip-timers", daemon=True)
        self._thread.start()

    def call_at(self, when: float, fn: Callable[[], None], name: str = "") -> TimerHandle:
        handle = TimerHandle(when, fn, name)
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), handle))
            self._cond.notify()
        return handle

    def call_later(self, delay: float, fn: Callable[[], None], name: str = "") -> TimerHandle:
        return self.call_at(self.clock() + delay, fn, name)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._heap:
                        wait = self._heap[0][0] - self.clock()
                        if wait <= 0:
                            break
                        self._cond.wait(min(wait, 1.0))
                    else:
                        self._cond.wait(1.0)
                if self._closed:
                    return
                _, _, handle = heapq.heappop(self._heap)
            _run(handle)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


class ManualScheduler:
    """Runs due tasks only when `advance()` moves its clock: for tests, no threads, no sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def call_at(self, when: float, fn: Callable[[], None], name: str = "") -> TimerHandle:
        handle = TimerHandle(when, fn, name)
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._seq), handle))
        return handle

    def call_later(self, delay: float, fn: Callable[[], None], name: str = "") -> TimerHandle:
        return self.call_at(self.now + delay, fn, name)

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    break
                when, _, handle = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            _run(handle)
        self.now = target

    def pending(self) -> list[str]:
        with self._lock:
            return [h.name for _, _, h in sorted(self._heap) if not h.cancelled]

    def close(self) -> None:
        with self._lock:
            self._heap.clear()
