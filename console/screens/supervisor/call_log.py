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
import logging
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Select

from console.domain.labels import SATISFACTION_LABELS
from console.screens.supervisor.base import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    ReviewContext,
    ReviewInputError,
    ShiftFilter,
    local,
    parse_day,
    review_context,
    seconds,
    shift_filters,
)
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
from console.ui.errors import UiError, title_of
from console.widgets.review_table import ReviewTable

if TYPE_CHECKING:
    from console.app import DutyConsoleApp

log = logging.getLogger("console.ui.review")

PAGE = 100
"""Rows read per page (a screenful or three)."""
PREFETCH = 10
"""Read the next page when the cursor is this close to the last row read."""

SORT_LABELS: dict[SortKey, str] = {
    SortKey.NEWEST: "最新在前",
    SortKey.OLDEST: "最早在前",
    SortKey.SLOWEST_ANSWER: "应答最慢",
    SortKey.LONGEST_CALL: "通话最长",
}

COLUMNS = (
    "来电时间",
    "号码",
    "接听人",
    "结果",
    "应答秒",
    "通话秒",
    "类别",
    "满意度",
    "内容",
    "更正",
)


def call_row(call: ReviewRow | CallRecord, tz: dt.tzinfo) -> tuple[str, ...]:
    """One table row of the call log (amended values, marked ✎)."""
    content = (call.content or "").replace("\n", " ")
    return (
        local(call.ring_at, tz),
        call.caller_number or "",
        call.answered_by or "",
        OUTCOME_LABELS.get(call.outcome, "进行中") if call.outcome else "进行中",
        seconds(call.seconds_to_answer),
        seconds(call.handling_seconds),
        CATEGORY_LABELS.get(call.category or "", call.category or ""),
        SATISFACTION_LABELS.get(call.satisfaction, "") if call.outcome else "",
        content[:24] + ("…" if len(content) > 24 else ""),
        "✎" if call.amended_fields else "",
    )


class CallLogPane(Vertical):
    """Filters above, the paged table below; Enter opens the call's detail."""

    DEFAULT_CSS = """
    CallLogPane #log-status { width: 1fr; height: 1; }
    """

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
    def seat(self) -> DutyConsoleApp:
        return cast("DutyConsoleApp", self.app)

    @property
    def shifts(self) -> dict[str, ShiftFilter]:
        """The shift filters, from the configured rosters."""
        return shift_filters(self.seat.settings.rosters)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Input(placeholder="起 YYYY-MM-DD", id="f-since", max_length=10)
            yield Input(placeholder="止 YYYY-MM-DD", id="f-until", max_length=10)
            yield Input(placeholder="工号", id="f-agent", max_length=64)
            yield Select(
                [(f.label, key) for key, f in self.shifts.items()], prompt="班次", id="f-shift"
            )
            yield Select(
                [(label, key) for key, label in CATEGORY_LABELS.items()],
                prompt="类别",
                id="f-category",
            )
            yield Select(
                [(label, o.value) for o, label in OUTCOME_LABELS.items()],
                prompt="结果",
                id="f-outcome",
            )
        with Horizontal(classes="review-filters"):
            yield Select(
                [(label, str(k)) for k, label in SATISFACTION_LABELS.items() if k is not None],
                prompt="满意度",
                id="f-sat",
            )
            yield Select(
                [("铃限内接听", "in"), ("超铃限/未接", "out")], prompt="铃限", id="f-limit"
            )
            yield Input(placeholder="搜索 内容/备注/姓名/号码", id="f-text", max_length=200)
            yield Select(
                [(label, key.value) for key, label in SORT_LABELS.items()],
                value=SortKey.NEWEST.value,
                allow_blank=False,
                id="f-sort",
            )
            yield Button("查询", id="f-apply", variant="primary")
            yield Button("清除", id="f-clear")
        yield Label("", id="log-status", markup=False)
        yield ReviewTable(id="log-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#log-table", ReviewTable).add_columns(*COLUMNS)
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
            self.show_status(f"{title_of(exc)}: {exc}")
            self.seat.report(exc)
            return None

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
            day = parse_day(value("#f-since"), "起 since")
            since = dt.datetime(day.year, day.month, day.day, tzinfo=record_tz)
        if value("#f-until"):
            day = parse_day(value("#f-until"), "止 until") + dt.timedelta(days=1)
            until = dt.datetime(day.year, day.month, day.day, tzinfo=record_tz)
        if since is not None and until is not None and until <= since:
            raise ReviewInputError("止 until is before 起 since")
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
            satisfaction=int(sat) if sat else None,
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
            self.show_status(f"{title_of(exc)}: {exc}")
            self.seat.notify(str(exc), title=title_of(exc), severity="error", markup=False)
            return
        self.filter = flt
        self.generation += 1
        generation = self.generation
        self.busy = True
        self.total = None
        self.show_status("查询中 … loading")

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
        self.show_status(f"{title_of(exc)}: {exc}")
        self.seat.report(exc)

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
        counted = "计数中 counting" if self.total is None else str(self.total)
        more = " …" if self.next_cursor is not None else ""
        self.show_status(f"共 {counted} 条 calls · 已显示 {shown}{more}")

    def _append(self, page: CallPage) -> None:
        ctx = self.context()
        if ctx is None:
            return
        table = self.query_one("#log-table", ReviewTable)
        tz = ctx.tz
        table.add_text_rows((call.key, call_row(call, tz)) for call in page.calls)
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
        from console.screens.supervisor.detail import CallDetailScreen

        if event.row_key.value is not None:
            self.seat.push_screen(CallDetailScreen(event.row_key.value))

    def refresh_row(self, call: CallRecord) -> None:
        """Show a call's new (amended) values in place."""
        ctx = self.context()
        table = self.query_one("#log-table", ReviewTable)
        if ctx is None or call.key not in table.rows:
            return
        table.set_text_row(call.key, call_row(call, ctx.tz))
