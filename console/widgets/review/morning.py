"""The morning review tab: last night's forwarded and gate-post calls, and the sign-off
(an audit entry and the record's anchors, never an edit)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label

from console.store import CallRecord
from console.ui.errors import UiError
from console.widgets.plain_table import PlainTable
from console.widgets.review.context import ReviewContext, ReviewInputError, parse_day
from console.widgets.review.labels import listed_outcome, local
from console.widgets.review.pane import ReviewPane

NIGHT_FROM = dt.time(17, 0)
"""The morning review covers calls from this time yesterday …"""
NIGHT_UNTIL = dt.time(9, 0)
"""… until this time on the review day (local)."""


def night_bounds(tz: dt.tzinfo, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[yesterday NIGHT_FROM, day NIGHT_UNTIL) in local time."""
    before = day - dt.timedelta(days=1)
    return (
        dt.datetime.combine(before, NIGHT_FROM, tzinfo=tz),
        dt.datetime.combine(day, NIGHT_UNTIL, tzinfo=tz),
    )


class MorningPane(ReviewPane):
    """Last night's forwarded and gate-post calls with the gate post's notes; sign off."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

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

    def _night(self) -> tuple[ReviewContext, dt.datetime, dt.datetime] | None:
        """The review's context and the night typed; None (the error shown) if either
        is not to be had."""
        ctx = self.context()
        if ctx is None:
            return None
        try:
            since, until = self.bounds(ctx)
        except UiError as exc:
            self.failed(exc)
            return None
        return ctx, since, until

    def bounds(self, ctx: ReviewContext) -> tuple[dt.datetime, dt.datetime]:
        day = parse_day(self.query_one("#m-day", Input).value, "rv.m.day")
        return night_bounds(ctx.record.tz, day)

    @on(Button.Pressed, "#m-refresh")
    @on(Input.Submitted, "#m-day")
    def reload(self) -> None:
        night = self._night()
        if night is None:
            return
        ctx, since, until = night
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
        calls = self.calls
        if calls is None:
            if self.context() is not None:
                self.failed(ReviewInputError("rv.m.not_loaded"))
            return
        night = self._night()
        if night is None:
            return
        ctx, since, until = night
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


