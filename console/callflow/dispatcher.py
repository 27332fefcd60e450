"""One thread runs every call's script: the flow's event dispatcher.

A call's script is a generator. Where it used to block, it yields what it waits for:
`Wait(predicate, timeout)` (a key, the caller's hang-up, the agent, a prompt's end, or
only the clock) or `Blocking(fn)` (a call into the line that blocks by its nature, such
as a REFER waiting for its NOTIFY). The dispatcher resumes a waiting script when someone
`wake`s it (an event for that call arrived) and its predicate holds, or when its deadline
passes; a `Blocking` call runs on a small pool and the script is resumed with its result.
So 100 calls cost one thread (and the pool only while a blocking call runs), not 100.

A script that raises is ended by its `on_crash` (record it, hang up), logged once; the
dispatcher itself goes on with the other calls.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("console.callflow")

BLOCKING_WORKERS = 4
"""Threads for `Blocking` calls (REFER, BYE, OPTIONS): what runs at once; more wait their
turn. They exist only while there is such work (`BLOCKING_IDLE`)."""

BLOCKING_IDLE = 2.0
"""Seconds a blocking-pool thread waits for more work before it ends."""


class BlockingPool:
    """Runs blocking calls on up to `workers` threads, started on demand and ended when idle
    (a line at rest has none; `ThreadPoolExecutor` would keep every thread it ever made)."""

    def __init__(self, name: str, workers: int, idle: float = BLOCKING_IDLE) -> None:
        self.name = name
        self._workers = workers
        self._idle_seconds = idle
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Callable[[Any, BaseException |
                                                                          None], None]]] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._threads = 0
        self._busy = 0
        self._queued = 0
        self._closed = False
        self._names = itertools.count(1)

    def submit(self, fn: Callable[[], Any],
               done: Callable[[Any, BaseException | None], None]) -> None:
        """Run `fn` on a pool thread; `done(result, None)` or `done(None, error)` there."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: closed")
            self._jobs.put((fn, done))
            self._queued += 1
            free = self._threads - self._busy
            if free >= self._queued or self._threads >= self._workers:
                return  # a waiting thread takes it, or it waits its turn
            self._threads += 1
        threading.Thread(target=self._work, name=f"{self.name}-{next(self._names)}",
                         daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _work(self) -> None:
        while True:
            try:
                fn, done = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queued == 0:
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._queued -= 1
                self._busy += 1
            try:
                result, error = fn(), None
            except Exception as exc:
                result, error = None, exc
            try:
                done(result, error)
            except Exception:
                log.exception("%s: completion of %r failed", self.name, fn)
            with self._lock:
                self._busy -= 1


@dataclass(frozen=True)
class Wait:
    """Resume the script with `predicate()` once it holds or `timeout` (None: none) passed."""

    predicate: Callable[[], bool]
    timeout: float | None


@dataclass(frozen=True)
class Blocking:
    """Run `fn` off the dispatcher; the script gets its result (or its exception thrown)."""

    fn: Callable[[], Any]


T = TypeVar("T")
Steps = Generator[Wait | Blocking, Any, T]
"""A piece of a call's script (`yield from` it): yields waits, returns a `T`."""
Script = Steps[None]


def _no_crash(exc: BaseException) -> None:
    """The `on_crash` of a finished task (it can no longer fail)."""


class Task:
    """One script and what it waits for; touched only on the dispatcher thread."""

    __slots__ = ("_dispatcher", "deadline", "done", "gen", "name", "on_crash", "wait")

    def __init__(self, dispatcher: Dispatcher, name: str, gen: Script,
                 on_crash: Callable[[BaseException], None]) -> None:
        self._dispatcher = dispatcher
        self.name = name
        self.gen: Script | None = gen
        self.on_crash = on_crash
        self.wait: Wait | None = None
        self.deadline: float | None = None
        self.done = False

    def start(self) -> None:
        """Run the script to its first wait, on the dispatcher thread."""
        self._dispatcher._start(self)

    def wake(self) -> None:
        """Something the script may wait for changed (any thread): look at it again."""
        self._dispatcher.post(self._check)

    def _check(self) -> None:
        wait = self.wait
        if wait is None or self.done:
            return
        if self._dispatcher._holds(self, wait):
            self._dispatcher._resume(self, True)


class Dispatcher:
    """The flow's one event thread: runs posted callables, resumes scripts, keeps deadlines."""

    def __init__(self, name: str = "call-flow", workers: int = BLOCKING_WORKERS) -> None:
        self.name = name
        self._workers = workers
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Task]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pool: BlockingPool | None = None
        self.tasks = 0
        """Scripts not yet finished (for the tests and the bench)."""

    # ------------------------------------------------------------ any thread

    def task(self, name: str, gen: Script, on_crash: Callable[[BaseException], None]) -> Task:
        """A task for `gen`, not started yet (its owner keeps it before any event can wake
        it); `Task.start` runs it."""
        return Task(self, name, gen, on_crash)

    def _start(self, task: Task) -> None:
        self._ensure_running()
        with self._lock:
            self.tasks += 1
        self.post(lambda: self._resume(task, None))

    def post_blocking(self, fn: Callable[[], Any], what: str) -> None:
        """Run `fn` on the blocking pool for nobody's script (a hang-up after a crash);
        a failure is logged."""
        def run() -> None:
            try:
                fn()
            except Exception:
                log.warning("call-flow dispatcher: %s failed", what, exc_info=True)

        self._pool_for().submit(run, lambda result, error: None)

    def post(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the dispatcher thread, in order; returns at once."""
        self._queue.put(fn)

    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (scripts still waiting are dropped: end them first)."""
        with self._lock:
            thread, self._thread = self._thread, None
            pool, self._pool = self._pool, None
        if thread is None:
            return
        self._queue.put(None)
        if thread is not threading.current_thread():
            thread.join(timeout)
        if pool is not None:
            pool.close()

    # ------------------------------------------------------------ the thread

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._queue = queue.SimpleQueue()
            self._timers = []
            self._thread = threading.Thread(target=self._loop, args=(self._queue,),
                                            name=self.name, daemon=True)
            self._thread.start()

    def _loop(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        timers = self._timers
        while True:
            timeout = None
            if timers:
                timeout = max(0.0, timers[0][0] - time.monotonic())
            try:
                fn = inbox.get(timeout=timeout)
            except queue.Empty:
                fn = self._expire
            if fn is None:
                return
            try:
                fn()
            except Exception:  # a bug in a posted callable: never the end of every call
                log.exception("call-flow dispatcher: %r failed", fn)
            if timers and timers[0][0] <= time.monotonic():
                self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, task = heapq.heappop(timers)
            if task.done or task.wait is None or task.deadline != deadline:
                continue  # resumed earlier (the entry is stale)
            self._resume(task, self._holds(task, task.wait))

    def _holds(self, task: Task, wait: Wait) -> bool:
        try:
            return bool(wait.predicate())
        except Exception as exc:
            self._crash(task, exc)
            return False

    def _resume(self, task: Task, value: Any, error: BaseException | None = None) -> None:
        """Send `value` (or throw `error`) into the script until it waits again or ends."""
        while not task.done and task.gen is not None:
            task.wait = None
            task.deadline = None
            try:
                if error is not None:
                    item = task.gen.throw(error)
                    error = None
                else:
                    item = task.gen.send(value)
            except StopIteration:
                self._finished(task)
                return
            except Exception as exc:
                self._crash(task, exc)
                return
            if isinstance(item, Blocking):
                self._run_blocking(task, item)
                return
            if not isinstance(item, Wait):
                self._crash(task, TypeError(f"a call script yielded {item!r}"))
                return
            if self._holds(task, item):
                value = True
                continue
            if task.done:
                return
            if item.timeout is not None and item.timeout <= 0:
                value = False
                continue
            task.wait = item
            if item.timeout is not None:
                task.deadline = time.monotonic() + item.timeout
                heapq.heappush(self._timers, (task.deadline, next(self._seq), task))
            return

    def _pool_for(self) -> BlockingPool:
        with self._lock:
            if self._pool is None:
                self._pool = BlockingPool(f"{self.name}-blocking", self._workers)
            return self._pool

    def _run_blocking(self, task: Task, item: Blocking) -> None:
        def done(result: Any, error: BaseException | None) -> None:
            self.post(lambda: self._resume(task, result, error))

        try:
            self._pool_for().submit(item.fn, done)
        except RuntimeError as exc:  # the pool was closed (the flow is stopping)
            self._resume(task, None, exc)

    def _finished(self, task: Task) -> None:
        # A stale deadline in the heap still points at the task until it passes: let it
        # hold nothing of the call (the session, its line call, its media) meanwhile.
        task.done = True
        task.gen = None
        task.wait = None
        task.on_crash = _no_crash
        with self._lock:
            self.tasks -= 1

    def _crash(self, task: Task, exc: BaseException) -> None:
        """The script raised (or yielded nonsense): end it, log once, let its owner clean up."""
        if task.done:
            return
        gen, on_crash = task.gen, task.on_crash
        self._finished(task)
        log.error("call-flow dispatcher: script %s failed", task.name, exc_info=exc)
        if gen is not None:
            try:
                gen.close()
            except Exception:
                log.debug("closing the failed script %s", task.name, exc_info=True)
        try:
            on_crash(exc)
        except Exception:
            log.exception("call-flow dispatcher: cleaning up after %s failed", task.name)
