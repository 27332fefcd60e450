"""The export tab: XLSX/CSV of the call log's current filter or of a month, audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, ProgressBar, Select

from console.store import CallFilter
from console.store.export import ExportResult, export_calls
from console.ui.errors import UiError
from console.widgets.review.call_log import CallLogPane
from console.widgets.review.context import ReviewContext, ReviewInputError, parse_day
from console.widgets.review.pane import ProgressRelay, ReviewPane


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


