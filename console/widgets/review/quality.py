"""The quality tab: per agent, calls reviewed this week against the two the rules ask,
and the reviews made."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label

from console.store.review import QUALITY_PER_WEEK, QualityReview, quality_reviews, quality_week
from console.widgets.plain_table import PlainTable
from console.widgets.review.labels import local
from console.widgets.review.pane import ReviewPane


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

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

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
