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
from console.domain.attendance import DayAttendance, StateEntry, day_attendance
from console.screens.supervisor.base import (
    ReviewContext,
    ReviewInputError,
    local,
    parse_day,
)
from console.screens.supervisor.panes import ReviewPane
from console.store import (
    Agent,
    AgentRole,
    AgentState,
    AgentStateChange,
    DutyRecord,
    EventReport,
    FollowUp,
    FollowUpStatus,
    UnknownRecord,
)
from console.widgets.plain_table import PlainTable

# ---------------------------------------------------------------- attendance


SESSION_STATES = frozenset(
    {AgentState.READY, AgentState.ON_CALL, AgentState.AFTER_CALL, AgentState.AWAY}
)


def day_entries(
    changes: Iterable[AgentStateChange], since: dt.datetime, until: dt.datetime
) -> list[StateEntry]:
    """The state log's lines inside [since, until), as the pure attendance fold takes them.

    The seat logs a login as a `logged_in` line ("late login" as its reason when late)
    followed by its first state (ready) at the same moment; those are read as they are (the
    ready after it is not a second login). Older logs wrote the login as the first state
    only: an agent's first line of the day, or one right after a logout, that is a seat
    state stands for a login too, at the same moment. Agents do not work across midnight
    (the gate post has the night, §2), so an agent's first line of the day is taken as a
    login even if yesterday's log ended at the seat (a console killed without logout).
    Lines at the same moment keep the log's order (the login before its ready).
    """
    entries: list[StateEntry] = []
    last: dict[str, AgentState] = {}
    for c in sorted(changes, key=lambda change: change.at):
        if not since <= c.at < until:
            continue
        before = last.get(c.agent_id)
        if c.state in SESSION_STATES and before in (None, AgentState.LOGGED_OUT):
            entries.append(StateEntry(c.agent_id, AgentState.LOGGED_IN.value, c.at))
        entries.append(StateEntry(c.agent_id, c.state.value, c.at, c.reason))
        last[c.agent_id] = c.state
    return entries


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
            yield Input(placeholder="考勤日期 YYYY-MM-DD", id="a-day", max_length=10)
            yield Button("刷新", id="a-refresh")
            yield Button(self.t("rv.att.unlock"), id="a-unlock", variant="warning")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="a-table", cursor_type="row")
        yield table
        yield Static("", id="a-detail", markup=False)  # typed away reasons

    def on_mount(self) -> None:
        self.query_one("#a-table", DataTable).add_columns(
            "工号",
            "姓名",
            "首次登录",
            "最后退出",
            "在线",
            "示忙次数",
            "示忙分钟",
            "超时示忙",
            "接听",
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
            day = parse_day(self.query_one("#a-day", Input).value, "考勤日期 date")
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
                f"{login} 迟到 late" if line.late else login,
                f"{logout} 早退 early" if line.early else logout,
                "在线 on" if line.logged_in_now else "",
                str(line.aways),
                minutes(line.away_total),
                f"{line.overdue_aways} 超时 overdue" if line.overdue_aways else "0",
                str(line.calls),
                self.locked_text(view, line.agent_id),
                key=line.agent_id,
            )
        for agent_id in view.absent:
            table.add_row(
                agent_id,
                view.names.get(agent_id, "?"),
                "未登录 no login",
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
        self.status(
            f"{view.day.isoformat()} · 登录 {len(view.lines)} 人 · 迟到 {late} · 早退 {early} · "
            f"超时示忙 {overdue} 次 (>{minutes(policy.away_limit)} 分钟) · "
            f"上班 {policy.late_after:%H:%M} 下班 {policy.early_before:%H:%M}"
        )

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
            self.failed(ReviewInputError(self.t("rv.att.none_selected")))
            return
        if agent_id not in view.locked:
            self.failed(ReviewInputError(self.t("rv.att.not_locked").format(who=agent_id)))
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
            detail = f"{found[0].agent_id} 示忙原因 away reasons: {reasons}"
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


def load_events(record: DutyRecord, limit: int = EVENTS_SHOWN) -> tuple[list[EventLine], int]:
    """The newest `limit` reports, newest first, and how many there are in all."""
    reports = record.event_reports()
    names = {a.agent_id: a.name for a in record.agents()}
    lines = []
    for r in reversed(reports[-limit:]):
        caller = ""
        if r.call_key:
            try:
                caller = record.get_call(r.call_key).caller_number or "无号码 no number"
            except UnknownRecord:
                caller = f"未知通话 unknown call {r.call_key[:8]}"
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
            yield Button("刷新", id="ev-refresh")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="ev-table", cursor_type="row")
        yield table
        yield Static("", id="ev-detail", markup=False)  # the agent's summary, the caller

    def on_mount(self) -> None:
        self.query_one("#ev-table", DataTable).add_columns(
            "", "时间", "报告人", "姓名", "来电号码", "事件摘要"
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
        self.work("events", lambda: load_events(ctx.record), self.show)

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
                "● 新" if r.key in self.new else "",
                local(r.at, ctx.tz, "%m-%d %H:%M"),
                r.reporter,
                line.reporter_name,
                line.caller,
                r.summary.replace("\n", " ")[:50],
                key=r.key,
            )
        more = f" (显示最新 {len(lines)})" if total > len(lines) else ""
        self.status(f"事件报告 {total} 份{more} · 新 {len(self.new)}")
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
        call = f" · 通话 call {r.call_key} 来电 {line.caller}" if r.call_key else " · 无关联通话"
        self.query_one("#ev-detail", Static).update(
            f"{local(r.at, ctx.tz, '%Y-%m-%d %H:%M:%S')} · {r.reporter} {line.reporter_name}"
            f"{call}\n{r.summary}"
        )


# ---------------------------------------------------------------- follow-ups


FOLLOW_UP_FILTERS = [
    ("未关闭 open", "open"),
    ("已超期 overdue", "overdue"),
    ("全部 all", "all"),
]

CLOSE_AS = [
    ("已办结 done", FollowUpStatus.DONE.value),
    ("撤销 cancelled", FollowUpStatus.CANCELLED.value),
]

STATUS_LABELS = {
    FollowUpStatus.OPEN: "未关闭 open",
    FollowUpStatus.DONE: "已办结 done",
    FollowUpStatus.CANCELLED: "已撤销 cancelled",
}


def select_follow_ups(record: DutyRecord, which: str, now: dt.datetime) -> list[FollowUp]:
    """open: every open one; overdue: open and past due at `now`; all: any status. By due."""
    if which == "all":
        return record.follow_ups(status=None)
    open_ones = record.follow_ups(status=FollowUpStatus.OPEN)
    if which == "overdue":
        return [f for f in open_ones if f.due_at < now]
    if which == "open":
        return open_ones
    raise ReviewInputError(f"unknown follow-up filter {which!r}")


def is_overdue(f: FollowUp, now: dt.datetime) -> bool:
    return f.status is FollowUpStatus.OPEN and f.due_at < now


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
            yield Select(FOLLOW_UP_FILTERS, value="open", allow_blank=False, id="fu-filter")
            yield Button("刷新", id="fu-refresh")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="fu-table", cursor_type="row")
        yield table
        yield Static("", id="fu-detail", markup=False)  # description and closing note
        with Horizontal(classes="review-filters"):
            yield Input(
                placeholder="关闭说明 closing note (必填 required)", id="fu-note", max_length=500
            )
            yield Select(
                CLOSE_AS, value=FollowUpStatus.DONE.value, allow_blank=False, id="fu-close-as"
            )
            yield Button("关闭所选 Close selected", id="fu-close", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#fu-table", DataTable).add_columns(
            "到期", "负责人", "姓名", "状态", "事项", "创建", "关闭", "关闭说明"
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

    def show(self, loaded: tuple[list[FollowUp], dict[str, str], dt.datetime]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.items, self.names, self.loaded_at = loaded
        now = self.loaded_at
        table = self.query_one("#fu-table", DataTable)
        table.clear()
        for f in self.items:
            state = "已超期 OVERDUE" if is_overdue(f, now) else STATUS_LABELS[f.status]
            table.add_row(
                local(f.due_at, ctx.tz, "%m-%d %H:%M"),
                f.owner,
                self.names.get(f.owner, "?"),
                state,
                f.description.replace("\n", " ")[:40],
                local(f.created_at, ctx.tz, "%m-%d %H:%M"),
                local(f.closed_at, ctx.tz, "%m-%d %H:%M"),
                (f.closing_note or "").replace("\n", " ")[:30],
                key=f.key,
            )
        overdue = sum(1 for f in self.items if is_overdue(f, now))
        self.status(f"跟进 {len(self.items)} 件 · 已超期 {overdue}")
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
        call = f" · 通话 call {f.call_key}" if f.call_key else ""
        self.query_one("#fu-detail", Static).update(
            f"{f.owner} {self.names.get(f.owner, '?')} · 到期 due "
            f"{local(f.due_at, ctx.tz, '%Y-%m-%d %H:%M')}{call}\n{f.description}"
            + (f"\n关闭说明 closing note: {f.closing_note}" if f.closing_note else "")
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
            raise ReviewInputError("no follow-up selected to close")
        if chosen.status is not FollowUpStatus.OPEN:
            raise ReviewInputError(f"follow-up {chosen.key[:8]} is already {chosen.status.value}")
        note = self.query_one("#fu-note", Input).value.strip()
        if not note:
            raise ReviewInputError("closing a follow-up needs a note (关闭说明): why, and by whom")
        status = FollowUpStatus(str(self.query_one("#fu-close-as", Select).value))
        return chosen.key, note, status

    def closed(self, f: FollowUp) -> None:
        self.query_one("#fu-note", Input).value = ""
        self.seat.notify(
            f"{f.owner} · {f.description[:30]} → {STATUS_LABELS[f.status]}",
            title="跟进已关闭 Follow-up closed",
            markup=False,
        )
        self.reload()
