"""`RecordWriter`: the one thread that carries the outbox's writes into the database.

The call path appends to the `Outbox` and returns; this thread applies the entries in
order. While the database is away (PostgreSQL down, SQLite locked past its busy timeout,
its disk full) it retries on its own with a short backoff, so the record is complete
within seconds of the database coming back — no restart, no next write needed to
trigger it. It raises `db_down` once when a write first fails and `db_back` once when
everything pending has reached the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from console.store.errors import (
    DatabaseUnavailable,
    InvalidFact,
    SealedRecordError,
    StoreError,
    UnknownRecord,
)
from console.store.outbox import Outbox, OutboxEntry

log = logging.getLogger("console.store.writer")

BACKOFF_FIRST = 0.1
BACKOFF_MAX = 1.0
"""Seconds between attempts while the database is away: at most this long after it is
back before the record catches up (the goal is ≤ 5 s)."""
IDLE_SECONDS = 2.0
"""Quiet time after which the writer compacts the outbox and retries writes in memory."""
_REFUSED = (UnknownRecord, InvalidFact, SealedRecordError, KeyError, ValueError, TypeError)


class Applier(Protocol):
    """What the writer needs from the record: apply one entry, hear of outages."""

    def apply_entry(self, op: str, args: dict[str, object], live: bool) -> None: ...
    def outage(self, kind: str, message: str) -> None: ...


class RecordWriter:
    """Applies outbox entries in order on one thread; `settle` waits for it to catch up."""

    def __init__(self, record: Applier, outbox: Outbox,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.record = record
        self.outbox = outbox
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self.down = False
        """True while the last attempt found the database away."""
        self._thread: threading.Thread | None = None
        self.applied = 0
        self._sleep = sleep

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="record-writer", daemon=True)
        self._thread.start()

    @property
    def on_writer_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def stop(self, timeout: float = 5.0) -> int:
        """Apply what can be applied within `timeout`, then stop; returns entries left."""
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self.settle(max(0.0, deadline - time.monotonic()))
            self._stop.set()
            with self.outbox.changed:
                self.outbox.changed.notify_all()
            self._thread.join(max(0.1, deadline - time.monotonic()))
            self._thread = None
        self.outbox.maintain()  # an applied outbox is emptied, so the next start has none
        left = self.outbox.status().pending
        if left:
            log.warning("stopping with %d writes still in the outbox %s; the next start "
                        "applies them", left, self.outbox.path)
        return left

    def settle(self, timeout: float = 1.0, through_outage: bool = False) -> bool:
        """Wait until every entry appended so far is applied (False: timed out).

        Reads call this so a seat sees its own writes; for them it returns at once while
        the database is away (nothing to wait for). `through_outage`: keep waiting while
        the writer retries (shutdown, tests).
        """
        if self._thread is None or self.on_writer_thread:
            return not self.outbox.status().pending
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.outbox.status().pending or self._busy:
                if (self.down and not through_outage) or self._stop.is_set():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                with self.outbox.changed:
                    self.outbox.changed.notify_all()
                self._idle.wait(min(left, 0.05))
        return True

    # ------------------------------------------------------------ the thread

    def _loop(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                entries = self.outbox.pending()
                if not entries:
                    self._wait_for_work()
                    continue
                if self._apply(entries):
                    backoff = BACKOFF_FIRST
                    self.outbox.compact_if_large()
                else:
                    self.outbox.retry_unsaved()  # the outbox's disk may have room again
                    self._pause(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
            except Exception:  # the writer must outlive any one bad write
                log.exception("record writer: unexpected failure; retrying")
                self._pause(BACKOFF_MAX)

    def _wait_for_work(self) -> None:
        with self._idle:
            self._busy = False
            self._idle.notify_all()
        with self.outbox.changed:
            if not self._stop.is_set() and not self.outbox.status().pending:
                if not self.outbox.changed.wait(IDLE_SECONDS):
                    self.outbox.maintain()

    def _pause(self, seconds: float) -> None:
        with self._idle:
            self._idle.notify_all()
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _apply(self, entries: list[OutboxEntry]) -> bool:
        """Apply `entries` in order; False when the database is away (retry later)."""
        with self._idle:
            self._busy = True
        for entry in entries:
            live = not entry.replayed and entry.attempts == 0
            try:
                self.record.apply_entry(entry.op, entry.args, live)
            except DatabaseUnavailable as exc:
                entry.attempts += 1
                if not self.down:
                    self.down = True
                    self.record.outage("db_down", str(exc))
                with self._idle:
                    self._busy = False
                return False
            except _REFUSED as exc:
                # One bad entry must not hold up the rest: kept aside, loudly.
                log.error("outbox write %d (%s) refused: %s; kept in %s", entry.n, entry.op,
                          exc, self.outbox.rejected_path)
                self.outbox.set_aside(entry, str(exc))
                self.record.outage("record_refused", f"{entry.op}: {exc}")
                continue
            except StoreError as exc:
                # Damaged or read-only database: as good as away; keep retrying, alarmed.
                entry.attempts += 1
                if not self.down:
                    self.down = True
                    self.record.outage("db_down", f"{exc.title}: {exc}")
                with self._idle:
                    self._busy = False
                return False
            self.outbox.applied(entry)
            self.applied += 1
        if self.down:
            self.down = False
            self.record.outage("db_back", f"{self.applied} writes applied in all")
        return True
