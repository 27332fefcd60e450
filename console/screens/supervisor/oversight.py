"""Oversight tabs: a day's attendance, the agents' event reports, everyone's follow-ups.

Duty rules §4 (late logins, early logouts and overdue absences are visible to supervisors),
§3.7 (突发事件 → event report to the supervisor) and §3.6 (首问负责: a follow-up stays with
its first agent until closed; the supervisor may close it, e.g. when the owner left).
Every read runs in a thread worker; the only write is `close_follow_up`, which the record
audits with the supervisor's ID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from console.domain.agent import AttendancePolicy
from console.domain.attendance import DayAttendance, StateEntry, day_attendance, log_entries
from console.domain.labels import Language
from console.domain.reasons import reason_text
from console.screens.supervisor.base import (
    Key,
    ReviewContext,
    ReviewInputError,
    local,
    parse_day,
)
from console.screens.supervisor.panes import ReviewPane
from console.store import (
    Agent,
    AgentRole,
    AgentStateChange,
    AuditEntry,
    DutyRecord,
    EventReport,
    FollowUp,
    FollowUpStatus,
    UnknownRecord,
)
from console.ui.texts import text
from console.widgets.plain_table import PlainTable

# ---------------------------------------------------------------- attendance


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

    DEFAULT_CSS = """
    AttendancePane #a-table { height: 1fr; }
    AttendancePane #a-detail { height: auto; max-height: 4; }
    """

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


# ---------------------------------------------------------------- event reports


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

    DEFAULT_CSS = """
    EventReportPane #ev-table { height: 1fr; }
    EventReportPane #ev-detail { height: auto; max-height: 8; }
    """

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


# ---------------------------------------------------------------- follow-ups


FOLLOW_UP_FILTERS = [
    ("rv.fu.open", "open"),
    ("rv.fu.overdue_filter", "overdue"),
    ("rv.fu.all", "all"),
]
"""(text key, filter) of the list's choices."""

CLOSE_AS = [
    ("rv.fu.done", FollowUpStatus.DONE.value),
    ("rv.fu.cancel", FollowUpStatus.CANCELLED.value),
]

STATUS_LABELS = {
    FollowUpStatus.OPEN: "rv.fu.open",
    FollowUpStatus.DONE: "rv.fu.done",
    FollowUpStatus.CANCELLED: "rv.fu.cancelled",
}
"""Follow-up status → its text key."""


def select_follow_ups(record: DutyRecord, which: str, now: dt.datetime) -> list[FollowUp]:
    """open: every open one; overdue: open and past due at `now`; all: any status. By due."""
    if which == "all":
        return record.follow_ups(status=None)
    open_ones = record.follow_ups(status=FollowUpStatus.OPEN)
    if which == "overdue":
        return [f for f in open_ones if f.due_at < now]
    if which == "open":
        return open_ones
    raise ReviewInputError("rv.fu.bad_filter", value=which)


def is_overdue(f: FollowUp, now: dt.datetime) -> bool:
    return f.status is FollowUpStatus.OPEN and f.due_at < now


UNOWNED_DAYS = 7
UNOWNED_SHOWN = 5
"""The newest unowned follow-ups listed by text (the count says how many in all)."""


def unowned_reason(detail: str, language: Language) -> str:
    """The follow-up an `alarm:follow_up_unowned` entry names, in the seat's language.

    The adapter writes "call <key>: <reason> (no follow_ups.default_owner)"; the reason is
    the flow's stable text, translated by the domain's table."""
    _, _, rest = detail.partition(": ")
    reason = rest.removesuffix(" (no follow_ups.default_owner)") or detail
    return reason_text(reason, language)


class FollowUpPane(ReviewPane):
    """All agents' follow-ups (首问负责), overdue flagged; the supervisor may close one."""

    DEFAULT_CSS = """
    FollowUpPane #fu-table { height: 1fr; }
    FollowUpPane #fu-detail { height: auto; max-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[FollowUp] | None = None
        self.names: dict[str, str] = {}
        self.loaded_at: dt.datetime | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Select(
                [(self.t(k), v) for k, v in FOLLOW_UP_FILTERS], value="open",
                allow_blank=False, id="fu-filter",
            )
            yield Button(self.t("rv.refresh"), id="fu-refresh")
        yield Label("", classes="pane-status", markup=False)
        # Follow-ups of calls no agent served, with no default owner configured: the flow
        # could only raise an alarm, so they are listed here or nobody sees them (issue 11).
        unowned = Static("", id="fu-unowned", markup=False)
        unowned.display = False  # shown once there is any
        yield unowned
        table: PlainTable = PlainTable(id="fu-table", cursor_type="row")
        yield table
        yield Static("", id="fu-detail", markup=False)  # description and closing note
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=self.t("rv.fu.note"), id="fu-note", max_length=500)
            yield Select(
                [(self.t(k), v) for k, v in CLOSE_AS], value=FollowUpStatus.DONE.value,
                allow_blank=False, id="fu-close-as",
            )
            yield Button(self.t("rv.fu.close"), id="fu-close", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#fu-table", DataTable).add_columns(
            self.t("rv.fu.col.due"), self.t("rv.fu.col.owner"), self.t("rv.a.col.name"),
            self.t("rv.q.col.state"), self.t("rv.fu.col.what"), self.t("rv.fu.col.created"),
            self.t("rv.fu.col.closed"), self.t("rv.fu.col.note"),
        )
        self.reload()

    def on_show(self) -> None:
        """Shown again (tab chosen): what was closed or became overdue meanwhile."""
        if self.items is not None:
            self.reload()

    @on(Select.Changed, "#fu-filter")
    @on(Button.Pressed, "#fu-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        which = str(self.query_one("#fu-filter", Select).value)
        now = self.seat.clock.now()

        def load() -> tuple[list[FollowUp], dict[str, str], dt.datetime]:
            names = {a.agent_id: a.name for a in ctx.record.agents()}
            return select_follow_ups(ctx.record, which, now), names, now

        self.work("follow-ups", load, self.show)
        since = now - dt.timedelta(days=UNOWNED_DAYS)
        self.work("follow-ups-unowned",
                  lambda: ctx.record.audit_entries("alarm:follow_up_unowned", since),
                  self.show_unowned)

    def show_unowned(self, entries: list[AuditEntry]) -> None:
        ctx = self.context()
        static = self.query_one("#fu-unowned", Static)
        static.display = bool(entries)
        if ctx is None or not entries:
            return
        lines = [self.t("rv.fu.unowned_list").format(n=len(entries))]
        for entry in entries[-UNOWNED_SHOWN:]:
            lines.append(f"· {local(entry.at, ctx.tz, '%m-%d %H:%M')} "
                         f"{unowned_reason(entry.detail, self.seat.language)}")
        static.update("\n".join(lines))
        static.set_class(True, "-alarm")

    def show(self, loaded: tuple[list[FollowUp], dict[str, str], dt.datetime]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.items, self.names, self.loaded_at = loaded
        now = self.loaded_at
        table = self.query_one("#fu-table", DataTable)
        table.clear()
        for f in self.items:
            state = self.t("rv.fu.overdue") if is_overdue(f, now) else self.t(
                STATUS_LABELS[f.status]
            )
            table.add_row(
                local(f.due_at, ctx.tz, "%m-%d %H:%M"),
                f.owner,
                self.names.get(f.owner, "?"),
                state,
                reason_text(f.description, self.seat.language).replace("\n", " ")[:40],
                local(f.created_at, ctx.tz, "%m-%d %H:%M"),
                local(f.closed_at, ctx.tz, "%m-%d %H:%M"),
                (f.closing_note or "").replace("\n", " ")[:30],
                key=f.key,
            )
        overdue = sum(1 for f in self.items if is_overdue(f, now))
        self.status(self.t("rv.fu.count").format(n=len(self.items), overdue=overdue))
        if not self.items:
            self.query_one("#fu-detail", Static).update("")

    def selected(self) -> FollowUp | None:
        table = self.query_one("#fu-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        found = [f for f in self.items or [] if f.key == key]
        return found[0] if found else None

    @on(DataTable.RowHighlighted, "#fu-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        ctx = self.context()
        found = [f for f in self.items or [] if f.key == event.row_key.value]
        if ctx is None or not found:
            return
        f = found[0]
        call = self.t("rv.fu.call").format(key=f.call_key) if f.call_key else ""
        self.query_one("#fu-detail", Static).update(
            self.t("rv.fu.detail").format(
                owner=f.owner, name=self.names.get(f.owner, "?"),
                due=local(f.due_at, ctx.tz, "%Y-%m-%d %H:%M"), call=call,
                what=reason_text(f.description, self.seat.language),
            )
            + (self.t("rv.fu.closing").format(note=f.closing_note) if f.closing_note else "")
        )

    @on(Button.Pressed, "#fu-close")
    @on(Input.Submitted, "#fu-note")
    def close_selected(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        try:
            key, note, status = self.closing(ctx)
        except ReviewInputError as exc:
            self.failed(exc)  # the typed note stays in its box
            return
        self.work(
            "follow-up-close",
            lambda: ctx.record.close_follow_up(key, ctx.reviewer, note, status),
            self.closed,
        )

    def closing(self, ctx: ReviewContext) -> tuple[str, str, FollowUpStatus]:
        """What to close and how; `ReviewInputError` when it cannot be closed from here."""
        chosen = self.selected()
        if chosen is None:
            raise ReviewInputError("rv.fu.none")
        if chosen.status is not FollowUpStatus.OPEN:
            raise ReviewInputError(
                "rv.fu.already", short=chosen.key[:8], state=Key(STATUS_LABELS[chosen.status])
            )
        note = self.query_one("#fu-note", Input).value.strip()
        if not note:
            raise ReviewInputError("rv.fu.need_note")
        status = FollowUpStatus(str(self.query_one("#fu-close-as", Select).value))
        return chosen.key, note, status

    def closed(self, f: FollowUp) -> None:
        self.query_one("#fu-note", Input).value = ""
        self.seat.notify(
            f"{f.owner} · {f.description[:30]} → {self.t(STATUS_LABELS[f.status])}",
            title=self.t("rv.fu.closed"),
            markup=False,
        )
        self.reload()
