"""The other review tabs: morning review, handovers, quality, integrity, export.

Each tab reads the duty record in a thread worker (never on the UI thread) and writes only
through the record's own append-only operations: a sign-off is a signature or an audit
entry, never an edit.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Select, Static

from console.domain.security import SecurityKind
from console.screens.supervisor.base import (
    ReviewContext,
    ReviewInputError,
    describe,
    listed_outcome,
    local,
    parse_day,
    review_context,
)
from console.store import (
    CallFilter,
    CallRecord,
    Handover,
    SecuritySummary,
    StoreError,
    VerifyReport,
)
from console.store.export import ExportResult, export_calls
from console.store.review import (
    QUALITY_PER_WEEK,
    ArchiveStatus,
    QualityReview,
    archive_status,
    quality_reviews,
    quality_week,
    verify_with_progress,
)
from console.ui.calendar import coverage_text, fix_text
from console.ui.errors import UiError
from console.ui.texts import text
from console.widgets.plain_table import PlainTable

if TYPE_CHECKING:
    from console.ui.view import ReviewView

log = logging.getLogger("console.ui.review")

NIGHT_FROM = dt.time(17, 0)
"""The morning review covers calls from this time yesterday …"""
NIGHT_UNTIL = dt.time(9, 0)
"""… until this time on the review day (local)."""


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


# ---------------------------------------------------------------- morning review


def night_bounds(tz: dt.tzinfo, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[yesterday NIGHT_FROM, day NIGHT_UNTIL) in local time."""
    before = day - dt.timedelta(days=1)
    return (
        dt.datetime.combine(before, NIGHT_FROM, tzinfo=tz),
        dt.datetime.combine(day, NIGHT_UNTIL, tzinfo=tz),
    )


class MorningPane(ReviewPane):
    """Last night's forwarded and gate-post calls with the gate post's notes; sign off."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.calls: list[CallRecord] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=f"{self.t('rv.m.day')} YYYY-MM-DD", id="m-day",
                        max_length=10, classes="date")
            yield Button(self.t("rv.refresh"), id="m-refresh")
            yield Button(self.t("rv.m.sign"), id="m-sign", variant="success")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="m-table", cursor_type="row")
        yield table

    def on_mount(self) -> None:
        self.query_one("#m-table", DataTable).add_columns(
            *(self.t(f"rv.col.{c}") for c in (
                "rang", "number", "outcome", "forwarded_to", "forward_result", "answered_by",
                "gate_note",
            ))
        )
        ctx = self.context()
        if ctx is not None:
            today = self.seat.clock.now().astimezone(ctx.record.tz).date()
            self.query_one("#m-day", Input).value = today.isoformat()
            self.reload()

    def bounds(self, ctx: ReviewContext) -> tuple[dt.datetime, dt.datetime]:
        day = parse_day(self.query_one("#m-day", Input).value, "rv.m.day")
        return night_bounds(ctx.record.tz, day)

    @on(Button.Pressed, "#m-refresh")
    @on(Input.Submitted, "#m-day")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        try:
            since, until = self.bounds(ctx)
        except UiError as exc:
            self.failed(exc)
            return
        self.work("morning", lambda: ctx.record.gate_post_calls(since, until), self.show)

    def show(self, calls: list[CallRecord]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.calls = calls
        table = self.query_one("#m-table", DataTable)
        table.clear()
        for c in calls:
            table.add_row(
                local(c.ring_at, ctx.tz),
                c.caller_number or "",
                listed_outcome(c.outcome, c.result, self.seat.language),
                c.forwarded_to or "",
                c.forward_result or "",
                c.answered_by or "",
                (c.notes or "").replace("\n", " ")[:40],
                key=c.key,
            )
        self.status(self.t("rv.m.count").format(n=len(calls)))

    @on(Button.Pressed, "#m-sign")
    def sign(self) -> None:
        ctx = self.context()
        calls = self.calls
        if ctx is None:
            return
        if calls is None:
            self.failed(ReviewInputError("rv.m.not_loaded"))
            return
        try:
            since, until = self.bounds(ctx)
        except UiError as exc:
            self.failed(exc)
            return
        detail = f"night {since.isoformat()} — {until.isoformat()}: {len(calls)} calls " + ",".join(
            c.key for c in calls
        )

        def sign() -> str:
            ctx.record.audit("morning_review_signed", ctx.reviewer, detail)
            ctx.record.record_anchors(f"morning review by {ctx.reviewer}")
            return detail

        self.work("morning-sign", sign, self.signed)

    def signed(self, detail: str) -> None:
        self.status(self.t("rv.m.signed").format(detail=detail[:80]))
        self.seat.notify(self.t("rv.m.signed_toast"), title=self.t("rv.tab.morning"))


# ---------------------------------------------------------------- handovers


class HandoverPane(ReviewPane):
    """Each shift's handover, accepted by whom and when; the supervisor's sign-off."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.handovers: list[Handover] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Button(self.t("rv.refresh"), id="h-refresh")
            yield Button(self.t("rv.h.sign"), id="h-sign", variant="success")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="h-table", cursor_type="row")
        yield table
        yield Static("", id="h-notes", markup=False)  # the agents' handover notes as typed

    def on_mount(self) -> None:
        self.query_one("#h-table", DataTable).add_columns(
            *(self.t(f"rv.col.{c}") for c in (
                "written", "outgoing", "incoming", "accepted", "signed_by", "signed_at",
                "open_items",
            ))
        )
        self.reload()

    @on(Button.Pressed, "#h-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        since = self.seat.clock.now() - dt.timedelta(days=14)
        self.work("handovers", lambda: ctx.record.handovers(since), self.show)

    def show(self, handovers: list[Handover]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.handovers = handovers
        table = self.query_one("#h-table", DataTable)
        table.clear()
        for h in reversed(handovers):
            table.add_row(
                local(h.written_at, ctx.tz, "%m-%d %H:%M"),
                h.outgoing,
                h.accepted_by or self.t("rv.h.not_accepted"),
                local(h.accepted_at, ctx.tz, "%m-%d %H:%M"),
                h.signed_by or self.t("rv.h.unsigned"),
                local(h.signed_at, ctx.tz, "%m-%d %H:%M"),
                h.open_items.replace("\n", " ")[:30],
                key=h.key,
            )
        unsigned = sum(1 for h in handovers if h.signed_by is None)
        self.status(self.t("rv.h.count").format(n=len(handovers), unsigned=unsigned))

    @on(DataTable.RowHighlighted, "#h-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        found = [h for h in self.handovers or [] if h.key == key]
        if found:
            h = found[0]
            self.query_one("#h-notes", Static).update(
                self.t("rv.h.notes").format(notes=h.notes, open=h.open_items)
            )

    @on(Button.Pressed, "#h-sign")
    def sign(self) -> None:
        ctx = self.context()
        table = self.query_one("#h-table", DataTable)
        if ctx is None:
            return
        if table.row_count == 0:
            self.failed(ReviewInputError("rv.h.none"))
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        chosen = [h for h in self.handovers or [] if h.key == key]
        if chosen and chosen[0].signed_by is not None:
            self.failed(ReviewInputError("rv.h.already", who=chosen[0].signed_by))
            return
        self.work("handover-sign", lambda: ctx.record.sign_handover(key, ctx.reviewer), self.signed)

    def signed(self, handover: Handover) -> None:
        self.seat.notify(
            f"{handover.outgoing} → {handover.accepted_by or '—'}",
            title=self.t("rv.h.signed"),
            markup=False,
        )
        self.reload()


# ---------------------------------------------------------------- integrity


@dataclass(frozen=True)
class IntegrityResult:
    """A verification run and the archive status read right after it."""

    report: VerifyReport
    archive: ArchiveStatus


class IntegrityPane(ReviewPane):
    """Run `verify` with a progress bar and show the result and the archive status; show the
    holiday calendar's reach and load a year's notice into it (载入假日通知)."""

    PROGRESS_INTERVAL = 0.1
    """Seconds between progress updates on screen."""
    VERIFY_STEP = 2000
    """Records verified between two progress reports from the store."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.result: IntegrityResult | None = None
        self.progress_shown: list[tuple[int, int]] = []
        """(checked, total) as shown on the bar during the last run."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Button(self.t("rv.i.run"), id="i-run", variant="primary")
            yield Button(self.t("notice.load"), id="i-notice")
        yield ProgressBar(total=1, id="i-progress", show_eta=False)
        yield Label("", classes="pane-status", markup=False)
        yield Static("", id="i-report", markup=False)  # a problem may quote a record's values
        yield Static("", id="i-calendar", markup=False)
        yield Static("", id="i-security", markup=False)  # addresses as sent, not markup

    def on_mount(self) -> None:
        self.show_calendar()
        self.load_security()

    SECURITY_HOURS = 24

    def load_security(self) -> None:
        """How often the line was probed (scanners, garbage) lately: the security log's
        count, so a sweep is seen without reading the log (issue 10, point 8)."""
        ctx = self.context()
        if ctx is None:
            return
        since = self.seat.clock.now() - dt.timedelta(hours=self.SECURITY_HOURS)
        self.work("security", lambda: ctx.record.security_summary(since), self.show_security)

    def show_security(self, summary: SecuritySummary) -> None:
        static = self.query_one("#i-security", Static)
        if not summary.requests:
            static.update(self.t("rv.i.security_none"))
            static.set_class(False, "-alarm")
            return
        kinds = "".join(
            f" · {SecurityKind(kind).label(self.seat.language)} {n}"
            for kind, n in sorted(summary.by_kind.items(), key=lambda item: -item[1])
            if kind in {k.value for k in SecurityKind}
        )
        static.update(self.t("rv.i.security").format(
            requests=summary.requests, sources=summary.sources, kinds=kinds))
        static.set_class(True, "-alarm")

    def show_calendar(self) -> None:
        """How far the holiday calendar reaches (always shown here), red once it is past."""
        seat = self.seat
        cover = seat.settings.calendar_coverage(seat.clock.now())
        words = coverage_text(cover, seat.language, always=True)
        if cover.warning or cover.alarm:
            words += f"\n{fix_text(seat.language)}"
        static = self.query_one("#i-calendar", Static)
        static.update(words)
        static.set_class(cover.alarm, "-alarm")

    @on(Button.Pressed, "#i-notice")
    def load_notice(self) -> None:
        """Open the 载入假日通知 dialog: a year's notice into the office's calendar."""
        from console.screens.supervisor.holiday_notice import HolidayNoticeScreen

        ctx = self.context()
        if ctx is not None:
            self.seat.push_screen(HolidayNoticeScreen(ctx))

    @on(Button.Pressed, "#i-run")
    def run_verify(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        bar = self.query_one("#i-progress", ProgressBar)
        bar.update(total=None, progress=0)  # indeterminate until the records are counted
        self.query_one("#i-run", Button).disabled = True
        self.status(self.t("rv.i.counting"))
        self.progress_shown = []
        relay = ProgressRelay(self.seat, self.show_progress, self.PROGRESS_INTERVAL)
        step = self.VERIFY_STEP

        def verify() -> IntegrityResult:
            report = verify_with_progress(ctx.record, progress=relay, every=step)
            outcome = "ok" if report.ok else f"FAILED {report.problem}"
            ctx.record.audit("verify", ctx.reviewer, f"{report.checked} records {outcome}")
            return IntegrityResult(report, archive_status(ctx.record))

        self.work("verify", verify, self.show)

    def show_progress(self, checked: int, total: int) -> None:
        self.progress_shown.append((checked, total))
        self.query_one("#i-progress", ProgressBar).update(total=max(total, 1), progress=checked)
        self.status(self.t("rv.i.progress").format(checked=checked, total=total))

    def failed(self, exc: Exception) -> None:
        self.query_one("#i-run", Button).disabled = False
        super().failed(exc)

    def show(self, result: IntegrityResult) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.result = result
        report, status = result.report, result.archive
        self.query_one("#i-run", Button).disabled = False
        total = self.progress_shown[-1][1] if self.progress_shown else report.checked
        # A broken chain stops the walk: the bar stays where it stopped.
        self.query_one("#i-progress", ProgressBar).update(
            total=max(total, 1), progress=report.checked if total else 1
        )
        verdict = (
            self.t("rv.i.sound") if report.ok
            else self.t("rv.i.problem").format(problem=report.problem)
        )
        chains = ", ".join(f"{name} {n}" for name, n in sorted(report.chains.items()))
        archived = [
            self.t("rv.i.archive").format(
                chain=chain, seq=seq, name=name, rows=rows, at=local(at, ctx.tz, "%Y-%m-%d")
            )
            for chain, seq, name, rows, at in status.checkpoints
        ]
        self.query_one("#i-report", Static).update(
            "\n".join(
                [
                    self.t("rv.i.verdict").format(verdict=verdict),
                    self.t("rv.i.checked").format(
                        checked=report.checked, total=total, chains=chains
                    ),
                    self.t("rv.i.held").format(
                        n=status.calls_held,
                        oldest=local(status.oldest_call, ctx.tz, "%Y-%m-%d") or "—",
                    ),
                    self.t("rv.i.archives").format(
                        list="; ".join(archived) if archived else self.t("rv.none")
                    ),
                ]
            )
        )
        self.status(verdict)
        self.show_calendar()
        self.load_security()
        if not report.ok:
            self.seat.notify(
                report.problem or "",
                title=self.t("rv.i.failed"),
                severity="error",
                markup=False,
            )


# ---------------------------------------------------------------- export


def export_name(since: dt.datetime, until: dt.datetime, fmt: str) -> str:
    last = until - dt.timedelta(seconds=1)
    return f"duty-calls-{since:%Y%m%d}-{last:%Y%m%d}.{fmt}"


class ExportPane(ReviewPane):
    """XLSX/CSV of the call log's current filter or of a month; the export is audited."""

    PROGRESS_INTERVAL = 0.1
    """Seconds between progress updates on screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.last: ExportResult | None = None
        self._exporting: Path | None = None
        self.progress_shown: list[tuple[int, int]] = []
        """(rows written, rows expected) as shown on the bar during the last export."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Select(
                [(self.t("rv.e.filter"), "filter"), (self.t("rv.e.month_report"), "month")],
                value="filter",
                allow_blank=False,
                id="e-what",
            )
            yield Input(placeholder=self.t("rv.e.month"), id="e-month", max_length=7)
            yield Select(
                [("Excel .xlsx", "xlsx"), ("CSV", "csv")],
                value="xlsx",
                allow_blank=False,
                id="e-format",
            )
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=self.t("rv.e.dir"), id="e-dir", max_length=500)
            yield Button(self.t("rv.e.run"), id="e-run", variant="primary")
        yield ProgressBar(total=1, id="e-progress", show_eta=False)
        yield Label("", classes="pane-status", markup=False)

    def on_mount(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        today = self.seat.clock.now().astimezone(ctx.record.tz).date()
        self.query_one("#e-month", Input).value = f"{today:%Y-%m}"
        self.query_one("#e-dir", Input).value = str(Path("var") / "exports")

    def plan(self, ctx: ReviewContext) -> tuple[dt.datetime, dt.datetime, CallFilter]:
        """The period and filter to export; `ReviewInputError` when it cannot be made."""
        from console.screens.supervisor.call_log import CallLogPane

        what = str(self.query_one("#e-what", Select).value)
        if what == "month":
            text = self.query_one("#e-month", Input).value.strip()
            day = parse_day(f"{text}-01", "rv.e.month_what")
            since = dt.datetime(day.year, day.month, 1, tzinfo=ctx.record.tz)
            nxt = (since + dt.timedelta(days=32)).replace(day=1)
            return since, nxt, CallFilter()
        panes = list(self.seat.screen.query(CallLogPane).results(CallLogPane))
        if not panes:
            raise ReviewInputError("rv.e.no_log")
        flt = panes[0].filter
        if flt.text or flt.within_limit is not None:
            raise ReviewInputError("rv.e.no_search")
        base = flt.base
        if base.since is None or base.until is None:
            raise ReviewInputError("rv.e.need_dates")
        return base.since, base.until, base

    @on(Button.Pressed, "#e-run")
    def run_export(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        try:
            since, until, flt = self.plan(ctx)
        except UiError as exc:
            self.failed(exc)
            return
        fmt = str(self.query_one("#e-format", Select).value)
        folder = Path(self.query_one("#e-dir", Input).value.strip() or ".")
        path = folder / export_name(since, until, fmt)
        self.query_one("#e-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#e-run", Button).disabled = True
        self.status(self.t("rv.e.started").format(path=path))
        self.progress_shown = []
        self._exporting = path
        relay = ProgressRelay(self.seat, self.show_progress, self.PROGRESS_INTERVAL)

        def export() -> ExportResult:
            folder.mkdir(parents=True, exist_ok=True)
            return export_calls(
                ctx.record, since, until, path, who=ctx.reviewer, flt=flt, progress=relay
            )

        self.work("export", export, self.done)

    def show_progress(self, written: int, expected: int) -> None:
        self.progress_shown.append((written, expected))
        total = max(expected, written, 1)
        self.query_one("#e-progress", ProgressBar).update(total=total, progress=written)
        self.status(self.t("rv.e.exporting").format(
            written=written, expected=expected, path=self._exporting
        ))

    def failed(self, exc: Exception) -> None:
        self.query_one("#e-run", Button).disabled = False
        super().failed(exc)

    def done(self, result: ExportResult) -> None:
        self.last = result
        self.query_one("#e-run", Button).disabled = False
        rows = max(result.rows, 1)
        self.query_one("#e-progress", ProgressBar).update(total=rows, progress=rows)
        self.status(self.t("rv.e.done").format(
            rows=result.rows, path=result.path, answered=result.kpis.answered,
            digest=result.digest[:12],
        ))
        self.seat.notify(str(result.path), title=self.t("rv.e.done_toast"), markup=False)


# ---------------------------------------------------------------- quality


@dataclass(frozen=True)
class QualityView:
    """This week's quality reviews and the count per agent."""

    week_start: dt.datetime
    per_agent: dict[str, int]
    reviews: list[QualityReview]


def week_start(tz: dt.tzinfo, day: dt.date) -> dt.datetime:
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime(monday.year, monday.month, monday.day, tzinfo=tz)


class QualityPane(ReviewPane):
    """Per agent: calls reviewed this week against the two the rules ask; the reviews made.

    Calls are scored from their detail (call log → Enter → 质检评分).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: QualityView | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Button(self.t("rv.refresh"), id="q-refresh")
        yield Label("", classes="pane-status", markup=False)
        agents: PlainTable = PlainTable(id="q-agents", cursor_type="row")
        yield agents
        reviews: PlainTable = PlainTable(id="q-reviews", cursor_type="row")
        yield reviews

    def on_mount(self) -> None:
        self.query_one("#q-agents", DataTable).add_columns(
            self.t("rv.agent_id"), self.t("rv.q.col.week"), self.t("rv.q.col.needed"),
            self.t("rv.q.col.state"),
        )
        self.query_one("#q-reviews", DataTable).add_columns(
            self.t("rv.q.col.at"), self.t("rv.agent_id"), self.t("rv.q.col.score"),
            self.t("rv.q.col.reviewer"), self.t("rv.q.col.call"), self.t("rv.q.col.notes"),
        )
        self.reload()

    @on(Button.Pressed, "#q-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        start = week_start(ctx.record.tz, self.seat.clock.now().astimezone(ctx.record.tz).date())

        def load() -> QualityView:
            return QualityView(
                start,
                quality_week(ctx.record, start),
                quality_reviews(ctx.record, start, start + dt.timedelta(days=7)),
            )

        self.work("quality", load, self.show)

    def show(self, view: QualityView) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.view = view
        agents = self.query_one("#q-agents", DataTable)
        agents.clear()
        for agent, n in view.per_agent.items():
            ok = "✓" if n >= QUALITY_PER_WEEK else self.t("rv.q.short").format(
                n=QUALITY_PER_WEEK - n
            )
            agents.add_row(agent, str(n), str(QUALITY_PER_WEEK), ok, key=agent)
        reviews = self.query_one("#q-reviews", DataTable)
        reviews.clear()
        for r in reversed(view.reviews):
            reviews.add_row(
                local(r.at, ctx.tz, "%m-%d %H:%M"),
                r.agent,
                str(r.score),
                r.reviewer,
                r.call_key[:8],
                r.notes[:40],
            )
        short = sum(1 for n in view.per_agent.values() if n < QUALITY_PER_WEEK)
        self.status(self.t("rv.q.count").format(
            start=f"{view.week_start:%m-%d}", n=len(view.reviews), per=QUALITY_PER_WEEK,
            short=short,
        ))
