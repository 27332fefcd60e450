"""The event reports tab: reports filed with F9 (duty rules §3.7, 突发事件 → event report to
the supervisor), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label, Static

from console.domain.labels import Language
from console.store import DutyRecord, EventReport, UnknownRecord
from console.ui.texts import text
from console.widgets.plain_table import PlainTable
from console.widgets.review.labels import local
from console.widgets.review.pane import ReviewPane

EVENTS_SHOWN = 200
"""The newest event reports listed (with their calls looked up); older ones stay in the record."""


@dataclass(frozen=True)
class EventLine:
    """An event report with its reporter's name and its call's caller number."""

    report: EventReport
    reporter_name: str
    caller: str
    """The call's caller number; "" without a call, a remark when the call is unknown."""


def load_events(
    record: DutyRecord, limit: int = EVENTS_SHOWN, language: Language = Language.ZH
) -> tuple[list[EventLine], int]:
    """The newest `limit` reports, newest first, and how many there are in all."""
    reports = record.event_reports()
    names = {a.agent_id: a.name for a in record.agents()}
    lines = []
    for r in reversed(reports[-limit:]):
        caller = ""
        if r.call_key:
            try:
                caller = record.get_call(r.call_key).caller_number or text(
                    "rv.ev.no_number", language
                )
            except UnknownRecord:
                caller = text("rv.ev.unknown_call", language).format(key=r.call_key[:8])
        lines.append(EventLine(r, names.get(r.reporter, "?"), caller))
    return lines, len(reports)


class EventReportPane(ReviewPane):
    """Event reports (事件报告) filed with F9, newest first; new ones since last shown marked."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[EventLine] | None = None
        self.new: set[str] = set()
        """Reports that appeared since the list was last loaded (none on the first load)."""
        self._known: set[str] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Button(self.t("rv.refresh"), id="ev-refresh")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="ev-table", cursor_type="row")
        yield table
        yield Static("", id="ev-detail", markup=False)  # the agent's summary, the caller

    def on_mount(self) -> None:
        self.query_one("#ev-table", DataTable).add_columns(
            "", self.t("rv.q.col.at"), self.t("rv.ev.col.reporter"), self.t("rv.a.col.name"),
            self.t("rv.ev.col.caller"), self.t("rv.ev.col.summary"),
        )
        self.reload()

    def on_show(self) -> None:
        """Shown again (tab chosen): read what was filed meanwhile."""
        if self.lines is not None:
            self.reload()

    @on(Button.Pressed, "#ev-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        lang = self.seat.language
        self.work("events", lambda: load_events(ctx.record, language=lang), self.show)

    def show(self, loaded: tuple[list[EventLine], int]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        lines, total = loaded
        keys = {line.report.key for line in lines}
        self.new = set() if self._known is None else keys - self._known
        self._known = keys if self._known is None else self._known | keys
        self.lines = lines
        table = self.query_one("#ev-table", DataTable)
        table.clear()
        for line in lines:
            r = line.report
            table.add_row(
                self.t("rv.ev.new") if r.key in self.new else "",
                local(r.at, ctx.tz, "%m-%d %H:%M"),
                r.reporter,
                line.reporter_name,
                line.caller,
                r.summary.replace("\n", " ")[:50],
                key=r.key,
            )
        more = self.t("rv.ev.newest").format(n=len(lines)) if total > len(lines) else ""
        self.status(self.t("rv.ev.count").format(n=total, more=more, new=len(self.new)))
        if lines:
            self.detail(lines[0])

    @on(DataTable.RowHighlighted, "#ev-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        found = [line for line in self.lines or [] if line.report.key == event.row_key.value]
        if found:
            self.detail(found[0])

    def detail(self, line: EventLine) -> None:
        ctx = self.context()
        if ctx is None:
            return
        r = line.report
        call = (
            self.t("rv.ev.call").format(key=r.call_key, caller=line.caller) if r.call_key
            else self.t("rv.ev.no_call")
        )
        self.query_one("#ev-detail", Static).update(
            f"{local(r.at, ctx.tz, '%Y-%m-%d %H:%M:%S')} · {r.reporter} {line.reporter_name}"
            f"{call}\n{r.summary}"
        )


