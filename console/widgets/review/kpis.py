"""KPIs for a day, week or month, overall and per agent, with calls per hour as a chart.

The figures are the store's `kpis` query laid out by the export's own `totals` block, so the
screen, the spreadsheet and the record can never disagree; the per-agent table is
`console.store.review.agent_kpis` (the same query filtered by agent).
"""

from __future__ import annotations

import datetime as dt
import enum
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from console.domain.agent import AttendancePolicy
from console.domain.assessment import ANSWER_RATE_TARGET, ReportPeriod
from console.domain.labels import Language, Satisfaction
from console.store import DutyRecord, Kpis, StoreError
from console.store.assessment import AgentAssessment, AssessmentReport, assessment_report
from console.store.assessment import export_report as export_assessment
from console.store.export import totals
from console.store.review import agent_kpis
from console.ui.errors import UiError
from console.ui.texts import text
from console.widgets.review.context import ReviewContext, describe, parse_day, review_context
from console.widgets.review.labels import percent
from console.widgets.review_table import ReviewTable

if TYPE_CHECKING:
    from console.ui.view import ReviewView



class Period(enum.Enum):
    """The span the KPIs cover."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


PERIOD_LABELS = {Period.DAY: "rv.period.day", Period.WEEK: "rv.period.week",
                 Period.MONTH: "rv.period.month"}
"""Period → its text key."""


def period_bounds(
    record: DutyRecord, period: Period, day: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) of the local day, Monday-based week or calendar month holding `day`
    (a week and a month are the assessment report's periods: one definition)."""
    if period is Period.DAY:
        return record.day_bounds(day)
    return report_period(period, day).bounds(record.tz)


def report_period(period: Period, day: dt.date) -> ReportPeriod:
    """The week or month of `day` as the assessment report covers it."""
    return ReportPeriod.week_of(day) if period is Period.WEEK else ReportPeriod.month_of(day)


def satisfaction_rate(k: Kpis) -> float | None:
    """Share of rated calls rated 满意 (1)."""
    rated = sum(n for score, n in k.satisfaction.items() if score is not None)
    return k.satisfaction.get(1, 0) / rated if rated else None


def overall_rows(k: Kpis, language: Language = Language.ZH) -> list[tuple[str, str]]:
    """The overall table: the export's totals block, then the rates the screen adds."""
    rows = [(label, str(value)) for label, value in totals(k, language)]
    below = f" ✗ {text('rv.kpi.below', language)}"
    target = (
        "" if k.answer_rate is None else (" ✓" if k.answer_rate >= ANSWER_RATE_TARGET else below)
    )
    rows.append((text("rv.kpi.target", language), percent(k.answer_rate) + target))
    rows.append((text("rv.kpi.sat_rate", language), percent(satisfaction_rate(k))))
    return rows


def hour_chart(k: Kpis, width: int = 40, language: Language = Language.ZH) -> str:
    """Calls per local hour of day as a bar chart (one line per hour 00–23)."""
    peak = max(k.calls_per_hour.values(), default=0)
    lines = []
    for hour in range(24):
        n = k.calls_per_hour.get(hour, 0)
        bar = "█" * (round(n / peak * width) if peak else 0)
        lines.append(f"{text('rv.kpi.hour', language).format(hour=hour)} {bar} {n}")
    return "\n".join(lines)


def agent_columns(language: Language) -> tuple[str, ...]:
    """The per-agent table's columns; the satisfaction words are the domain's."""
    return (
        text("rv.agent_id", language),
        text("rv.kpi.col.answered", language),
        text("rv.kpi.col.in_limit", language),
        text("rv.kpi.col.avg_answer", language),
        text("rv.kpi.col.avg_call", language),
        *(s.label(language) for s in Satisfaction),
        text("rv.kpi.col.sat_rate", language),
    )


def agent_row(agent: str, k: Kpis) -> tuple[str, ...]:
    return (
        agent,
        str(k.answered),
        percent(k.within_limit_rate),
        "" if k.avg_seconds_to_answer is None else f"{k.avg_seconds_to_answer:.1f}",
        "" if k.avg_handling_seconds is None else f"{k.avg_handling_seconds:.1f}",
        str(k.satisfaction.get(1, 0)),
        str(k.satisfaction.get(2, 0)),
        str(k.satisfaction.get(3, 0)),
        percent(satisfaction_rate(k)),
    )


def assessment_columns(language: Language) -> tuple[str, ...]:
    """The assessment table's columns (a week or a month: duty rules §6)."""
    return tuple(text(f"rv.as.{key}", language) for key in (
        "agent", "taken", "listens", "qa_avg", "late", "early", "away", "overdue", "findings"))


def assessment_row(line: AgentAssessment, language: Language) -> tuple[str, ...]:
    return (
        f"{line.agent_id} {line.name}".strip(),
        str(line.calls_taken),
        str(line.listens),
        "" if line.qa_average is None else f"{line.qa_average:.1f}",
        str(line.late_days),
        str(line.early_days),
        str(line.overdue_aways),
        str(line.overdue_follow_ups),
        "、".join(f.label(language) for f in line.findings) or "—",
    )


@dataclass(frozen=True)
class KpiView:
    """What the KPI pane shows, read in one worker."""

    since: dt.datetime
    until: dt.datetime
    overall: Kpis
    per_agent: dict[str, Kpis]
    assessment: AssessmentReport | None = None
    """A week's or a month's assessment report (None for a day)."""


def load_kpis(
    ctx: ReviewContext, period: Period, day: dt.date, policy: AttendancePolicy | None = None
) -> KpiView:
    """Blocking: the period's overall and per-agent figures (and, for a week or a month,
    the assessment report built on the same two reads).

    The two read the same month independently (each on its own pooled connection; the
    driver leaves Python while SQL runs), so the per-agent query runs on a second thread
    beside the overall one instead of after it.
    """
    since, until = period_bounds(ctx.record, period, day)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpis-per-agent") as pool:
        per_agent_read = pool.submit(agent_kpis, ctx.record, since, until)
        overall = ctx.record.kpis(since, until)
        per_agent = per_agent_read.result()
    report = None
    if period is not Period.DAY:
        policy = policy or AttendancePolicy(timezone=ctx.tz)
        report = assessment_report(ctx.record, report_period(period, day), policy,
                                   team=overall, per_agent=per_agent)
    return KpiView(since, until, overall, per_agent, report)


class KpiPane(Vertical):
    """Period and date above; overall figures, per agent, and calls per hour below."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: KpiView | None = None
        self.generation = 0
        """Bumped by every reload; an older answer is dropped."""
        self.shown = 0
        """The generation on screen now."""

    @property
    def seat(self) -> ReviewView:
        return cast("ReviewView", self.app)

    def compose(self) -> ComposeResult:
        lang = self.seat.language
        with Horizontal(classes="review-filters"):
            yield Select(
                [(text(label, lang), p.value) for p, label in PERIOD_LABELS.items()],
                value=Period.DAY.value,
                allow_blank=False,
                id="k-period",
            )
            yield Input(placeholder=f"{text('rv.date', lang)} YYYY-MM-DD", id="k-day",
                        max_length=10, classes="date")
            yield Button(text("rv.refresh", lang), id="k-refresh", variant="primary")
        yield Label("", id="k-status", markup=False)  # may quote the typed date
        with Horizontal(id="k-body"):
            yield ReviewTable(id="k-overall", cursor_type="row")
            with Vertical(id="k-right"):
                yield ReviewTable(id="k-agents", cursor_type="row")
                with Horizontal(id="k-assess-bar"):
                    yield Label("", id="k-assess-title", markup=False)
                    yield Button(text("rv.as.export", lang), id="k-export")
                yield ReviewTable(id="k-assess", cursor_type="row")
                yield Static("", id="k-hours")

    def on_mount(self) -> None:
        lang = self.seat.language
        self.query_one("#k-overall", ReviewTable).add_columns(
            text("rv.kpi.figure", lang), text("rv.kpi.value", lang)
        )
        self.query_one("#k-agents", ReviewTable).add_columns(*agent_columns(lang))
        self.query_one("#k-assess", ReviewTable).add_columns(*assessment_columns(lang))
        self._show_assessment(False)
        try:
            ctx = review_context(self.seat)
        except UiError as exc:
            title, words = describe(exc, lang)
            self.query_one("#k-status", Label).update(f"{title}: {words}")
            return
        today = self.seat.clock.now().astimezone(ctx.record.tz).date()
        self.query_one("#k-day", Input).value = today.isoformat()
        self.reload()

    @on(Select.Changed, "#k-period")
    @on(Input.Submitted, "#k-day")
    @on(Button.Pressed, "#k-refresh")
    def _changed(self, event: Any) -> None:
        if self.is_mounted:
            self.reload()

    def reload(self) -> None:
        status = self.query_one("#k-status", Label)
        try:
            ctx = review_context(self.seat)
            day = parse_day(self.query_one("#k-day", Input).value, "rv.date")
        except UiError as exc:
            title, words = describe(exc, self.seat.language)
            status.update(f"{title}: {words}")
            self.seat.notify(words, title=title, severity="error", markup=False)
            return
        period = Period(str(self.query_one("#k-period", Select).value))
        self.generation += 1
        generation = self.generation
        status.update(text("rv.kpi.loading", self.seat.language))

        policy = self.seat.settings.attendance()

        def load() -> None:
            try:
                view = load_kpis(ctx, period, day, policy)
            except StoreError as exc:
                self.seat.call_from_thread(self._failed, generation, exc)
                return
            self.seat.call_from_thread(self.show, generation, view)

        self.seat.run_worker(
            load,
            name="kpis",
            group="review-kpis",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _failed(self, generation: int, exc: StoreError) -> None:
        if generation == self.generation:
            title, words = describe(exc, self.seat.language)
            self.query_one("#k-status", Label).update(f"{title}: {words}")
            self.seat.notify(words, title=title, severity="error", markup=False)

    def show(self, generation: int, view: KpiView) -> None:
        if generation != self.generation:
            return
        self.view = view
        self.shown = generation
        tz = view.since.tzinfo or dt.UTC
        last = view.until - dt.timedelta(seconds=1)
        self.query_one("#k-status", Label).update(
            f"{view.since.astimezone(tz):%Y-%m-%d} — {last.astimezone(tz):%Y-%m-%d}"
        )
        overall = self.query_one("#k-overall", ReviewTable)
        overall.clear()
        overall.add_text_rows(
            (label, (label, value))
            for label, value in overall_rows(view.overall, self.seat.language)
        )
        agents = self.query_one("#k-agents", ReviewTable)
        agents.clear()
        agents.add_text_rows((agent, agent_row(agent, k)) for agent, k in view.per_agent.items())
        lang = self.seat.language
        self.query_one("#k-hours", Static).update(
            text("rv.kpi.per_hour", lang) + "\n" + hour_chart(view.overall, language=lang)
        )
        report = view.assessment
        self._show_assessment(report is not None)
        if report is not None:
            self.query_one("#k-assess-title", Label).update(
                text("rv.as.title", lang).format(
                    kind=report.period.kind.label(lang), period=report.period.label,
                    required=report.qa_required))
            table = self.query_one("#k-assess", ReviewTable)
            table.clear()
            table.add_text_rows(
                (line.agent_id, assessment_row(line, lang)) for line in report.agents)

    def _status(self, words: str) -> None:
        self.query_one("#k-status", Label).update(words)

    def _show_assessment(self, shown: bool) -> None:
        for widget_id in ("#k-assess-bar", "#k-assess"):
            self.query_one(widget_id).display = shown

    @on(Button.Pressed, "#k-export")
    def export(self) -> None:
        """The assessment report on screen, as XLSX in the exports folder beside the
        drafts (var/exports, the Export tab's default too), audited."""
        view = self.view
        report = view.assessment if view is not None else None
        if report is None:
            return
        try:
            ctx = review_context(self.seat)
        except UiError as exc:
            title, words = describe(exc, self.seat.language)
            self.seat.notify(words, title=title, severity="error", markup=False)
            return
        folder = self.seat.settings.drafts_dir.parent / "exports"
        path = folder / f"assessment-{report.period.kind.value}-{report.period.first}.xlsx"
        lang = self.seat.language

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            export_assessment(ctx.record, report, path, ctx.reviewer)
            self.seat.call_from_thread(self._status, text("rv.as.exported", lang).format(path=path))

        self.seat.run_in_thread(write, "assessment export")
