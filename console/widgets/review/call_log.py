"""The call log: every call of the duty record, filtered, searched, sorted, one page at a time.

Nothing here loads the whole record: the table holds the pages read so far (keyset pages of
`PAGE` rows from `console.store.review.call_page`); moving the cursor near the last row
reads the next page in a thread worker. A filter change starts a new generation, so a slow
answer for an old filter never lands in the table. The first page is shown as soon as it is
read; the matching count (a full scan of the filter's range, the slower query) follows in
its own worker, so it never holds the table back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Select

from console.domain.labels import SATISFACTION_LABELS, Category, Language
from console.store import CallFilter, CallOutcome, CallRecord, StoreError
from console.store.review import (
    CallPage,
    Cursor,
    ReviewFilter,
    ReviewRow,
    SortKey,
    call_page,
    count_calls,
)
from console.ui.errors import UiError
from console.ui.texts import text
from console.widgets.review.context import (
    ReviewContext,
    ReviewInputError,
    describe,
    parse_day,
    review_context,
)
from console.widgets.review.labels import (
    OUTCOME_LABELS,
    ShiftFilter,
    category_label,
    listed_outcome,
    local,
    outcome_label,
    satisfaction_label,
    seconds,
    shift_filters,
)
from console.widgets.review_table import ReviewTable

if TYPE_CHECKING:
    from console.ui.view import ReviewView

PAGE = 100
"""Rows read per page (a screenful or three)."""
PREFETCH = 10
"""Read the next page when the cursor is this close to the last row read."""

SORT_LABELS: dict[SortKey, str] = {
    SortKey.NEWEST: "rv.sort.newest",
    SortKey.OLDEST: "rv.sort.oldest",
    SortKey.SLOWEST_ANSWER: "rv.sort.slowest",
    SortKey.LONGEST_CALL: "rv.sort.longest",
}
"""Sort order → its text key."""

COLUMNS = (
    "rv.col.rang",
    "rv.col.number",
    "rv.col.answered_by",
    "rv.col.outcome",
    "rv.col.answer_s",
    "rv.col.call_s",
    "rv.col.category",
    "rv.col.satisfaction",
    "rv.col.content",
    "rv.col.amended",
)
"""The table's columns as text keys."""

UNRATED = "none"
"""The satisfaction filter's value for calls without a survey answer (未评价)."""


def call_row(
    call: ReviewRow | CallRecord, tz: dt.tzinfo, language: Language = Language.ZH
) -> tuple[str, ...]:
    """One table row of the call log (amended values, marked ✎)."""
    content = (call.content or "").replace("\n", " ")
    answered = call.answered_by is not None
    return (
        local(call.ring_at, tz),
        call.caller_number or "",
        call.answered_by or "",
        listed_outcome(call.outcome, call.result, language),
        seconds(call.seconds_to_answer),
        seconds(call.handling_seconds),
        category_label(call.category, language),
        satisfaction_label(call.satisfaction, language) if call.outcome and answered else "",
        content[:24] + ("…" if len(content) > 24 else ""),
        "✎" if call.amended_fields else "",
    )


class CallLogPane(Vertical):
    """Filters above, the paged table below; Enter opens the call's detail (the screen
    does, told by `CallChosen`: a widget never pushes a screen)."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    @dataclass
    class CallChosen(Message):
        """Up: Enter on a call of the log; the supervisor's screen opens its detail."""

        key: str
        """The call's key in the duty record."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.generation = 0
        """Bumped by every filter change; pages of older generations are dropped."""
        self.next_cursor: Cursor | None = None
        self.busy = False
        """A page is being read. (Not Textual's `loading`, which would cover the pane with a
        spinner widget mounted and removed on every filter change: a layout pass each time.)"""
        self.filter = ReviewFilter()
        self.total: int | None = None
        """Calls matching the filter; None until counted (after the first page shows)."""
        self.pages_read = 0

    @property
    def seat(self) -> ReviewView:
        return cast("ReviewView", self.app)

    @property
    def shifts(self) -> dict[str, ShiftFilter]:
        """The shift filters, from the configured rosters."""
        return shift_filters(self.seat.settings.rosters, self.seat.language)

    def t(self, key: str) -> str:
        """The label `key` in the seat's language."""
        return text(key, self.seat.language)

    def compose(self) -> ComposeResult:
        lang = self.seat.language
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=f"{self.t('rv.since')} YYYY-MM-DD", id="f-since",
                        max_length=10, classes="date")
            yield Input(placeholder=f"{self.t('rv.until')} YYYY-MM-DD", id="f-until",
                        max_length=10, classes="date")
            yield Input(placeholder=self.t("rv.agent_id"), id="f-agent", max_length=64)
            yield Select(
                [(f.label, key) for key, f in self.shifts.items()],
                prompt=self.t("rv.shift"),
                id="f-shift",
            )
            yield Select(
                [(c.label(lang), c.value) for c in Category],
                prompt=self.t("rv.col.category"),
                id="f-category",
            )
            yield Select(
                [(outcome_label(o, lang), o.value) for o in OUTCOME_LABELS],
                prompt=self.t("rv.col.outcome"),
                id="f-outcome",
            )
        with Horizontal(classes="review-filters"):
            yield Select(
                # Every label of the domain's table, 未评价 (no rating) included (issue 11).
                [(satisfaction_label(k, lang), str(k) if k else UNRATED)
                 for k in SATISFACTION_LABELS],
                prompt=self.t("rv.col.satisfaction"),
                id="f-sat",
            )
            yield Select(
                [(self.t("rv.limit.in"), "in"), (self.t("rv.limit.out"), "out")],
                prompt=self.t("rv.limit"),
                id="f-limit",
            )
            search = Input(placeholder=self.t("rv.search_hint"), id="f-text", max_length=200)
            search.tooltip = self.t("rv.search_tip")
            yield search
            yield Select(
                [(self.t(label), key.value) for key, label in SORT_LABELS.items()],
                value=SortKey.NEWEST.value,
                allow_blank=False,
                id="f-sort",
            )
            yield Button(self.t("rv.apply"), id="f-apply", variant="primary")
            yield Button(self.t("rv.clear"), id="f-clear")
        yield Label("", id="log-status", markup=False)
        yield ReviewTable(id="log-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#log-table", ReviewTable).add_columns(*(self.t(c) for c in COLUMNS))
        ctx = self.context()
        if ctx is None:
            return
        today = self.seat.clock.now().astimezone(ctx.record.tz).date()
        self.query_one("#f-since", Input).value = (today - dt.timedelta(days=6)).isoformat()
        self.query_one("#f-until", Input).value = today.isoformat()
        self.reload()

    def context(self) -> ReviewContext | None:
        try:
            return review_context(self.seat)
        except UiError as exc:
            self.show_failure(exc)
            return None

    def show_failure(self, exc: BaseException) -> None:
        """A failure on the status line and as a toast, in the seat's language."""
        title, words = describe(exc, self.seat.language)
        self.show_status(f"{title}: {words}")
        self.seat.notify(words, title=title, severity="error", markup=False)

    def show_status(self, message: str) -> None:
        # One line of fixed size (see the CSS): no layout pass of the whole screen per update.
        self.query_one("#log-status", Label).update(message, layout=False)

    # ------------------------------------------------------------ the filter

    def read_filter(self, record_tz: dt.tzinfo) -> ReviewFilter:
        """The filter as typed; `ReviewInputError` names the bad field."""

        def value(widget_id: str) -> str:
            return self.query_one(widget_id, Input).value.strip()

        def choice(widget_id: str) -> str | None:
            select: Select[str] = self.query_one(widget_id, Select)
            return None if select.is_blank() else str(select.value)

        since = until = None
        if value("#f-since"):
            day = parse_day(value("#f-since"), "rv.since")
            since = dt.datetime(day.year, day.month, day.day, tzinfo=record_tz)
        if value("#f-until"):
            day = parse_day(value("#f-until"), "rv.until") + dt.timedelta(days=1)
            until = dt.datetime(day.year, day.month, day.day, tzinfo=record_tz)
        if since is not None and until is not None and until <= since:
            raise ReviewInputError("rv.until_before")
        shift = choice("#f-shift")
        outcome = choice("#f-outcome")
        sat = choice("#f-sat")
        limit = choice("#f-limit")
        base = CallFilter(
            since=since,
            until=until,
            agent=value("#f-agent") or None,
            category=choice("#f-category"),
            outcome=CallOutcome(outcome) if outcome else None,
            satisfaction=int(sat) if sat and sat != UNRATED else None,
            unrated=sat == UNRATED,
            hours=self.shifts[shift].hours if shift else None,
        )
        return ReviewFilter(
            base,
            text=value("#f-text") or None,
            within_limit=None if limit is None else limit == "in",
            sort=SortKey(choice("#f-sort") or SortKey.NEWEST.value),
        )

    @on(Input.Submitted, ".review-filters Input")
    @on(Select.Changed, ".review-filters Select")
    def _filter_changed(self, event: Any) -> None:
        if self.is_mounted:
            self.reload()

    @on(Button.Pressed, "#f-apply")
    def _apply(self) -> None:
        self.reload()

    @on(Button.Pressed, "#f-clear")
    def _clear(self) -> None:
        for widget in self.query(".review-filters Input").results(Input):
            widget.value = ""
        for select in self.query(".review-filters Select").results(Select):
            if select.id != "f-sort":
                select.clear()
        self.reload()

    # ------------------------------------------------------------ loading

    def reload(self) -> None:
        """Start over with the filter as typed: first page in a worker, then the count."""
        ctx = self.context()
        if ctx is None:
            return
        try:
            flt = self.read_filter(ctx.record.tz)
        except UiError as exc:
            self.show_failure(exc)
            return
        self.filter = flt
        self.generation += 1
        generation = self.generation
        self.busy = True
        self.total = None
        self.show_status(self.t("rv.loading"))

        def load() -> None:
            try:
                page = call_page(ctx.record, flt, size=PAGE)
            except StoreError as exc:
                self.seat.call_from_thread(self._failed, generation, exc)
                return
            self.seat.call_from_thread(self._first_page, generation, page)

        self.seat.run_worker(
            load,
            name="call log",
            group="review-log",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _failed(self, generation: int, exc: StoreError) -> None:
        if generation != self.generation:
            return
        self.busy = False
        self.show_failure(exc)

    def _first_page(self, generation: int, page: CallPage) -> None:
        if generation != self.generation:
            return
        table = self.query_one("#log-table", ReviewTable)
        table.clear()
        self.pages_read = 0
        self._append(page)
        if page.next is None:  # all of it on one page: that is the count
            self.total = table.row_count
            self._show_count()
        else:  # after the page is on screen, so the count never competes with its paint
            self.call_after_refresh(self._count, generation, self.filter)

    def _count(self, generation: int, flt: ReviewFilter) -> None:
        ctx = self.context()
        if ctx is None or generation != self.generation:
            return

        def count() -> None:
            try:
                total = count_calls(ctx.record, flt)
            except StoreError as exc:
                self.seat.call_from_thread(self._failed, generation, exc)
                return
            self.seat.call_from_thread(self._counted, generation, total)

        self.seat.run_worker(
            count,
            name="call log count",
            group="review-count",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _counted(self, generation: int, total: int) -> None:
        if generation == self.generation:
            self.total = total
            self._show_count()

    def _show_count(self) -> None:
        shown = self.query_one("#log-table", ReviewTable).row_count
        counted = self.t("rv.counting") if self.total is None else str(self.total)
        more = " …" if self.next_cursor is not None else ""
        self.show_status(self.t("rv.count").format(n=counted, shown=shown, more=more))

    def _append(self, page: CallPage) -> None:
        ctx = self.context()
        if ctx is None:
            return
        table = self.query_one("#log-table", ReviewTable)
        tz = ctx.tz
        lang = self.seat.language
        table.add_text_rows((call.key, call_row(call, tz, lang)) for call in page.calls)
        self.next_cursor = page.next
        self.pages_read += 1
        self.busy = False
        self._show_count()

    @on(DataTable.RowHighlighted, "#log-table")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if event.cursor_row >= table.row_count - PREFETCH:
            self.load_more()

    def load_more(self) -> None:
        """Read the next page (if any, and not already reading) in a worker."""
        cursor = self.next_cursor
        ctx = self.context()
        if cursor is None or self.busy or ctx is None:
            return
        self.busy = True
        generation, flt = self.generation, self.filter

        def load() -> None:
            try:
                page = call_page(ctx.record, flt, cursor, size=PAGE)
            except StoreError as exc:
                self.seat.call_from_thread(self._failed, generation, exc)
                return
            self.seat.call_from_thread(self._more, generation, page)

        self.seat.run_worker(
            load, name="call log page", group="review-page", thread=True, exit_on_error=False
        )

    def _more(self, generation: int, page: CallPage) -> None:
        if generation == self.generation:
            self._append(page)

    @on(DataTable.RowSelected, "#log-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(self.CallChosen(event.row_key.value))

    def refresh_row(self, call: CallRecord) -> None:
        """Show a call's new (amended) values in place."""
        ctx = self.context()
        table = self.query_one("#log-table", ReviewTable)
        if ctx is None or call.key not in table.rows:
            return
        table.set_text_row(call.key, call_row(call, ctx.tz, self.seat.language))
