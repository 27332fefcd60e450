"""The integrity tab: `verify` with a progress bar, the archive status, the holiday
calendar's reach and the line's security log; it asks the screen for the holiday-notice
dialog (`IntegrityPane.NoticeAsked`), never pushes it itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Label, ProgressBar, Static

from console.domain.security import SecurityKind
from console.store import SecuritySummary, VerifyReport
from console.store.review import ArchiveStatus, archive_status, verify_with_progress
from console.ui.calendar import coverage_text, fix_text
from console.widgets.review.context import ReviewContext
from console.widgets.review.labels import local
from console.widgets.review.pane import ProgressRelay, ReviewPane


@dataclass(frozen=True)
class IntegrityResult:
    """A verification run and the archive status read right after it."""

    report: VerifyReport
    archive: ArchiveStatus


class IntegrityPane(ReviewPane):
    """Run `verify` with a progress bar and show the result and the archive status; show the
    holiday calendar's reach and load a year's notice into it (载入假日通知)."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    @dataclass
    class NoticeAsked(Message):
        """Up: the supervisor asked to load a holiday notice; the screen opens the dialog."""

        context: ReviewContext
        """The review's context the dialog writes with (checked when it was asked)."""

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
        """Ask for the 载入假日通知 dialog (a year's notice into the office's calendar): the
        supervisor's screen opens it, told by `NoticeAsked`."""
        ctx = self.context()
        if ctx is not None:
            self.post_message(self.NoticeAsked(ctx))

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


