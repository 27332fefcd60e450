"""The attendance tab: per agent for one day, first login (late), last logout (early),
absences and calls (duty rules §4: visible to supervisors)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Static

from console.domain.agent import AttendancePolicy
from console.domain.attendance import DayAttendance, StateEntry, day_attendance, log_entries
from console.store import Agent, AgentRole, AgentStateChange, DutyRecord
from console.widgets.plain_table import PlainTable
from console.widgets.review.context import ReviewInputError, parse_day
from console.widgets.review.labels import local
from console.widgets.review.pane import ReviewPane


def day_entries(
    changes: Iterable[AgentStateChange], since: dt.datetime, until: dt.datetime
) -> list[StateEntry]:
    """The record's state log inside [since, until), as the attendance fold takes it (the
    rule of what counts as a login is the domain's `log_entries`)."""
    return log_entries(
        (StateEntry(c.agent_id, c.state.value, c.at, c.reason) for c in changes), since, until
    )


@dataclass(frozen=True)
class AttendanceView:
    """One day's attendance: a line per agent who logged in, and the agents who did not."""

    day: dt.date
    lines: list[DayAttendance]
    names: dict[str, str]
    absent: list[str]
    """Active agents (not supervisors) without a single state change that day."""
    locked: dict[str, dt.datetime] = field(default_factory=dict)
    """Agent IDs locked now (too many wrong secrets) → until when; a supervisor may unlock."""


def load_attendance(
    record: DutyRecord, policy: AttendancePolicy, day: dt.date, now: dt.datetime
) -> AttendanceView:
    """Read and fold one local day of the state log; an open absence counts up to `now`."""
    since, until = record.day_bounds(day)
    entries = day_entries(record.agent_states(since=since), since, until)
    lines = day_attendance(entries, policy, max(since, min(until, now)))
    agents = record.agents()
    seen = {line.agent_id for line in lines}
    absent = [
        a.agent_id
        for a in agents
        if a.active and a.role is AgentRole.AGENT and a.agent_id not in seen
    ]
    locked = {
        a.agent_id: a.locked_until
        for a in agents
        if a.locked_until is not None and a.locked_until > now
    }
    return AttendanceView(day, lines, {a.agent_id: a.name for a in agents}, absent, locked)


def minutes(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f}"


class AttendancePane(ReviewPane):
    """Per agent for one day: first login (late), last logout (early), absences, calls."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: AttendanceView | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=f"{self.t('rv.a.day')} YYYY-MM-DD", id="a-day",
                        max_length=10, classes="date")
            yield Button(self.t("rv.refresh"), id="a-refresh")
            yield Button(self.t("rv.att.unlock"), id="a-unlock", variant="warning")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="a-table", cursor_type="row")
        yield table
        yield Static("", id="a-detail", markup=False)  # typed away reasons

    def on_mount(self) -> None:
        self.query_one("#a-table", DataTable).add_columns(
            self.t("rv.agent_id"),
            *(self.t(f"rv.a.col.{c}") for c in (
                "name", "first", "last", "online", "aways", "away_min", "overdue",
            )),
            self.t("rv.kpi.col.answered"),
            self.t("rv.att.col.locked"),
        )
        ctx = self.context()
        if ctx is not None:
            today = self.seat.clock.now().astimezone(ctx.record.tz).date()
            self.query_one("#a-day", Input).value = today.isoformat()
            self.reload()

    def on_show(self) -> None:
        """Shown again (tab chosen): read the day again (logins and absences move on)."""
        if self.view is not None:
            self.reload()

    @on(Button.Pressed, "#a-refresh")
    @on(Input.Submitted, "#a-day")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        try:
            day = parse_day(self.query_one("#a-day", Input).value, "rv.a.day")
        except ReviewInputError as exc:
            self.failed(exc)  # the table keeps the day it shows
            return
        policy = self.seat.settings.attendance()
        now = self.seat.clock.now()
        self.work("attendance", lambda: load_attendance(ctx.record, policy, day, now), self.show)

    def show(self, view: AttendanceView) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.view = view
        policy = self.seat.settings.attendance()
        table = self.query_one("#a-table", DataTable)
        table.clear()
        for line in view.lines:
            login = local(line.first_login, ctx.tz, "%H:%M")
            logout = local(line.last_logout, ctx.tz, "%H:%M")
            table.add_row(
                line.agent_id,
                view.names.get(line.agent_id, "?"),
                f"{login} {self.t('rv.a.late')}" if line.late else login,
                f"{logout} {self.t('rv.a.early')}" if line.early else logout,
                self.t("rv.a.on") if line.logged_in_now else "",
                str(line.aways),
                minutes(line.away_total),
                self.t("rv.a.overdue").format(n=line.overdue_aways) if line.overdue_aways
                else "0",
                str(line.calls),
                self.locked_text(view, line.agent_id),
                key=line.agent_id,
            )
        for agent_id in view.absent:
            table.add_row(
                agent_id,
                view.names.get(agent_id, "?"),
                self.t("rv.a.no_login"),
                "",
                "",
                "",
                "",
                "",
                "",
                self.locked_text(view, agent_id),
                key=agent_id,
            )
        shown = {line.agent_id for line in view.lines} | set(view.absent)
        for agent_id in sorted(set(view.locked) - shown):  # locked, e.g. a supervisor's ID
            table.add_row(
                agent_id, view.names.get(agent_id, "?"), "", "", "", "", "", "", "",
                self.locked_text(view, agent_id), key=agent_id,
            )
        late = sum(1 for line in view.lines if line.late)
        early = sum(1 for line in view.lines if line.early)
        overdue = sum(line.overdue_aways for line in view.lines)
        self.status(self.t("rv.a.count").format(
            day=view.day.isoformat(), n=len(view.lines), late=late, early=early,
            overdue=overdue, limit=minutes(policy.away_limit),
            start=f"{policy.late_after:%H:%M}", end=f"{policy.early_before:%H:%M}",
        ))

    def locked_text(self, view: AttendanceView, agent_id: str) -> str:
        until = view.locked.get(agent_id)
        if until is None:
            return ""
        tz = self.seat.settings.timezone
        return self.t("rv.att.locked").format(until=local(until, tz, "%m-%d %H:%M"))

    def selected_agent(self) -> str | None:
        table = self.query_one("#a-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    @on(Button.Pressed, "#a-unlock")
    def unlock_selected(self) -> None:
        """Lift the selected ID's lockout (the record audits it with the supervisor's ID)."""
        ctx = self.context()
        view = self.view
        if ctx is None or view is None:
            return
        agent_id = self.selected_agent()
        if agent_id is None:
            self.failed(ReviewInputError("rv.att.none_selected"))
            return
        if agent_id not in view.locked:
            self.failed(ReviewInputError("rv.att.not_locked", who=agent_id))
            return
        self.work(
            "unlock", lambda: ctx.record.unlock_agent(agent_id, ctx.reviewer), self.unlocked
        )

    def unlocked(self, agent: Agent) -> None:
        message = self.t("rv.att.unlocked").format(who=f"{agent.agent_id} {agent.name}")
        self.status(message)
        self.seat.notify(message, title=self.t("rv.tab.attendance"), markup=False)
        self.reload()

    @on(DataTable.RowHighlighted, "#a-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        view = self.view
        if view is None:
            return
        found = [line for line in view.lines if line.agent_id == event.row_key.value]
        detail = ""
        if found:
            reasons = "; ".join(found[0].away_reasons) or "—"
            detail = self.t("rv.a.reasons").format(who=found[0].agent_id, reasons=reasons)
        self.query_one("#a-detail", Static).update(detail)


