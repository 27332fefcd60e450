"""What every review tab shares: `ReviewPane` (typed access to the review's view, the
context check, the worker and its errors) and `ProgressRelay` (a worker's progress, a few
times a second).

Each tab reads the duty record in a thread worker (never on the UI thread) and writes only
through the record's own append-only operations: a sign-off is a signature or an audit
entry, never an edit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.containers import Vertical
from textual.widgets import Label

from console.store import StoreError
from console.ui.errors import UiError
from console.ui.texts import text
from console.widgets.review.context import ReviewContext, describe, review_context

if TYPE_CHECKING:
    from console.ui.view import ReviewView

class ReviewPane(Vertical):
    """A tab of the review: typed app access, context check, worker and error plumbing."""

    @property
    def seat(self) -> ReviewView:
        return cast("ReviewView", self.app)

    def t(self, key: str) -> str:
        """The label `key` in the seat's language."""
        return text(key, self.seat.language)

    def context(self) -> ReviewContext | None:
        try:
            return review_context(self.seat)
        except UiError as exc:
            title, words = describe(exc, self.seat.language)
            self.status(f"{title}: {words}")
            return None

    def status(self, message: str) -> None:
        self.query_one(".pane-status", Label).update(message)

    def work(self, name: str, fn: Any, done: Any) -> None:
        """Run blocking `fn()` in a thread; `done(result)` on the UI thread, or the error shown."""

        def run() -> None:
            try:
                result = fn()
            except (StoreError, UiError, OSError) as exc:
                self.seat.call_from_thread(self.failed, exc)
                return
            self.seat.call_from_thread(done, result)

        self.seat.run_worker(
            run, name=name, group=f"review-{name}", thread=True, exit_on_error=False
        )

    def failed(self, exc: Exception) -> None:
        title, words = describe(exc, self.seat.language)
        self.status(f"{title}: {words}")
        self.seat.notify(words, title=title, severity="error", markup=False)


class ProgressRelay:
    """Hands (done, total) from a worker thread to the UI at most every `interval` seconds.

    The store calls it once per row (export) or per step (verify); the UI gets a handful
    of updates a second, and always the last one (done == total) — never a message per row.
    """

    def __init__(
        self, app: ReviewView, show: Callable[[int, int], None], interval: float
    ) -> None:
        self.app = app
        self.show = show
        self.interval = interval
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            if done < total and now - self._last < self.interval:
                return
            self._last = now
        self.app.call_from_thread(self.show, done, total)


