"""Pilot tests of the oversight tabs: attendance, event reports, follow-ups (issue 6).

A real SQLite duty record (tests/ui/conftest.py); the state log, reports and follow-ups
are written through the record's own API, then read back on the supervisor's screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import DataTable, Input, Select, TabbedContent

from console.app import DutyConsoleApp
from console.domain.agent import AttendancePolicy
from console.domain.attendance import day_attendance
from console.screens.supervisor import SupervisorScreen
from console.store import AgentState, AgentStateChange, DutyRecord, FollowUpStatus
from console.ui.texts import text
from console.widgets.review.attendance import AttendancePane, day_entries
from console.widgets.review.events import EventReportPane
from console.widgets.review.follow_ups import FollowUpPane
from tests.ui.conftest import START, TZ
from tests.ui.helpers import login, press_button, screen_name, screen_text, until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]

THRESHOLDS = {
    "late_after": dt.time(9, 0),
    "early_before": dt.time(17, 0),
    "away_limit": dt.timedelta(minutes=10),
}
"""Not the defaults (08:30 / 17:35 / 15 min): the screen must judge by the configuration."""

YESTERDAY = START.date() - dt.timedelta(days=1)


def at(day: dt.date, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=TZ)


def state(store: DutyRecord, who: str, s: AgentState, when: dt.datetime, why: str = "") -> None:
    store.set_agent_state(who, s, why or None, at=when)


async def show_tab(pilot, app: DutyConsoleApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one("#review-tabs", TabbedContent).active = tab
    await pilot.pause()


def row(app: DutyConsoleApp, table: str, key: str) -> list[str]:
    return [str(cell) for cell in app.screen.query_one(f"#{table}", DataTable).get_row(key)]


def row_keys(app: DutyConsoleApp, table: str) -> list[str]:
    return [str(r.value) for r in app.screen.query_one(f"#{table}", DataTable).rows]


def fill_yesterday(store: DutyRecord) -> None:
    """1024 logged as the seat logs it (a login is its first state, ready): exactly on the
    thresholds (not late, not early; a 10-minute absence not overdue) plus an 11-minute
    absence (overdue) and a logout and login again at noon; 2048 logged with explicit
    `logged_in` lines, a second past each threshold."""
    d = YESTERDAY
    state(store, "1024", AgentState.READY, at(d, 9, 0))
    state(store, "1024", AgentState.AWAY, at(d, 10, 0), "如厕")
    state(store, "1024", AgentState.READY, at(d, 10, 10))
    state(store, "1024", AgentState.AWAY, at(d, 11, 0), "开会")
    state(store, "1024", AgentState.READY, at(d, 11, 11))
    state(store, "1024", AgentState.ON_CALL, at(d, 12, 0))
    state(store, "1024", AgentState.AFTER_CALL_WORK, at(d, 12, 5))
    state(store, "1024", AgentState.LOGGED_OUT, at(d, 12, 30))
    state(store, "1024", AgentState.READY, at(d, 13, 30), "late login")
    state(store, "1024", AgentState.ON_CALL, at(d, 14, 0))
    state(store, "1024", AgentState.READY, at(d, 14, 3))
    state(store, "1024", AgentState.LOGGED_OUT, at(d, 17, 0))
    state(store, "2048", AgentState.LOGGED_IN, at(d, 9, 0, 1))
    state(store, "2048", AgentState.READY, at(d, 9, 0, 1))
    state(store, "2048", AgentState.LOGGED_OUT, at(d, 16, 59, 59))
    # The day before and today's lines must not leak into yesterday.
    state(store, "2048", AgentState.READY, at(d - dt.timedelta(days=1), 7, 0))
    # Today: 2048 went away at 09:40 and is still away at 10:00 (START) — 20 minutes, overdue.
    state(store, "2048", AgentState.READY, at(START.date(), 8, 0))
    state(store, "2048", AgentState.AWAY, at(START.date(), 9, 40), "午饭")


def change(who: str, s: AgentState, when: dt.datetime, why: str | None = None) -> AgentStateChange:
    return AgentStateChange(who, s, when, why)


def test_day_entries_read_the_seats_login_lines_as_they_are_without_a_second_login() -> None:
    """The seat's log shape: `logged_in` then ready at the same moment, per login. Each
    login is one `logged_in` entry (none inferred from the ready after it), also when the
    console was killed without a logout and the agent logged in again; an old-shape day
    (ready first) beside it still gets its inferred login."""
    d = YESTERDAY
    log = [
        change("1024", AgentState.LOGGED_IN, at(d, 9, 5), "late login"),
        change("1024", AgentState.READY, at(d, 9, 5)),
        change("1024", AgentState.AWAY, at(d, 10, 0), "如厕"),
        change("1024", AgentState.READY, at(d, 10, 5)),
        change("1024", AgentState.LOGGED_OUT, at(d, 12, 0), "early logout"),
        change("1024", AgentState.LOGGED_IN, at(d, 13, 0), "late login"),
        change("1024", AgentState.READY, at(d, 13, 0)),
        # Killed at 14:00 without a logout; logged in again at 14:10.
        change("1024", AgentState.ON_CALL, at(d, 13, 55)),
        change("1024", AgentState.LOGGED_IN, at(d, 14, 10), "late login"),
        change("1024", AgentState.READY, at(d, 14, 10)),
        change("1024", AgentState.LOGGED_OUT, at(d, 17, 40)),
        change("2048", AgentState.READY, at(d, 8, 0)),  # old shape: the login is inferred
        change("2048", AgentState.LOGGED_OUT, at(d, 17, 40)),
    ]
    since, until_ = at(d, 0, 0), at(d + dt.timedelta(days=1), 0, 0)
    entries = day_entries(log, since, until_)
    logins = [(e.agent_id, e.at, e.reason) for e in entries if e.state == "logged_in"]
    assert logins == [
        ("2048", at(d, 8, 0), None),
        ("1024", at(d, 9, 5), "late login"),
        ("1024", at(d, 13, 0), "late login"),
        ("1024", at(d, 14, 10), "late login"),
    ]
    assert len(entries) == len(log) + 1  # every line once, plus 2048's inferred login
    policy = AttendancePolicy(
        late_after=THRESHOLDS["late_after"], early_before=THRESHOLDS["early_before"],
        away_limit=THRESHOLDS["away_limit"], timezone=TZ,
    )
    first, second = day_attendance(entries, policy, until_)
    assert (first.agent_id, first.first_login, first.late) == ("1024", at(d, 9, 5), True)
    assert (first.last_logout, first.early, first.logged_in_now) == (at(d, 17, 40), False, False)
    assert (first.aways, first.calls) == (1, 1)
    assert (second.agent_id, second.first_login, second.late) == ("2048", at(d, 8, 0), False)


async def test_attendance_flags_late_early_and_overdue_at_the_configured_thresholds(
    build: Build, store: DutyRecord
) -> None:
    fill_yesterday(store)
    app = build(settings=THRESHOLDS)
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-attendance")
        pane = app.screen.query_one(AttendancePane)
        # The seat writes the supervisor's own login in a thread: read again once it is in.
        await until(pilot, lambda: len(store.agent_states("9001")) == 2, "supervisor's login")
        assert [(c.state, c.reason) for c in store.agent_states("9001")] == [
            (AgentState.LOGGED_IN, "late login"), (AgentState.READY, None)]
        await until(pilot, lambda: pane.view is not None, "today's attendance")
        first = pane.view
        await press_button(pilot, "a-refresh")
        await until(pilot, lambda: pane.view is not first, "attendance read again")
        assert app.screen.query_one("#a-day", Input).value == START.date().isoformat()
        # Today: 2048 in since 08:00 (on time), away since 09:40, counted up to now (10:00).
        today = row(app, "a-table", "2048")
        assert today[2] == "08:00" and today[4] == text("rv.a.on")
        assert today[5:8] == ["1", "20", text("rv.a.overdue").format(n=1)]
        # The supervisor's own login just now (the real seat's log) is late by 09:00.
        assert row(app, "a-table", "9001")[2] == f"10:00 {text('rv.a.late')}"
        # 1024 has no line today: listed as not logged in.
        assert row(app, "a-table", "1024")[2] == text("rv.a.no_login")

        app.screen.query_one("#a-day", Input).value = YESTERDAY.isoformat()
        before = pane.view
        await press_button(pilot, "a-refresh")
        await until(pilot, lambda: pane.view is not before, "yesterday's attendance")
        assert pane.view is not None and pane.view.day == YESTERDAY
        on_time = row(app, "a-table", "1024")
        assert on_time[:5] == ["1024", "王芳", "09:00", "17:00", ""]
        assert on_time[5:9] == ["2", "21", text("rv.a.overdue").format(n=1), "2"]
        late = row(app, "a-table", "2048")
        assert late[:5] == [
            "2048", "李强", f"09:00 {text('rv.a.late')}", f"16:59 {text('rv.a.early')}", ""
        ]
        assert late[5:9] == ["0", "0", "0", "0"]
        assert "迟到 1 · 早退 1 · 超时示忙 1 次 (>10 分钟)" in screen_text(app)
        assert "9001" not in row_keys(app, "a-table")  # supervisors are not listed as absent

        # A bad date: a titled error, and yesterday's table stays.
        shown = pane.view
        for bad in ("2026-02-30", "昨天", ""):
            app.screen.query_one("#a-day", Input).value = bad
            await press_button(pilot, "a-refresh")
            refusal = text("rv.bad_date").format(what=text("rv.a.day"), value=bad)
            await until(pilot, lambda r=refusal: r in screen_text(app), f"refusal of {bad!r}")
            assert pane.view is shown
            assert row(app, "a-table", "2048")[2] == f"09:00 {text('rv.a.late')}"
            app.clear_notifications()
            await pilot.pause()


async def test_event_reports_newest_first_with_the_calls_caller(
    build: Build, store: DutyRecord, week: list[str]
) -> None:
    call = store.get_call(week[-1])
    assert call.caller_number
    first = store.report_event("2048", "小区停电,已通知供电所")
    second = store.report_event("1024", "3号楼电梯困人\n已报119", call_key=call.key)
    lost = store.report_event("1024", "来电人称有人跌倒", call_key="no-such-call")
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-events")
        pane = app.screen.query_one(EventReportPane)
        await until(pilot, lambda: pane.lines is not None, "event reports")
        assert row_keys(app, "ev-table") == [lost, second, first]
        with_call = row(app, "ev-table", second)
        assert with_call[2:5] == ["1024", "王芳", call.caller_number]
        assert with_call[5] == "3号楼电梯困人 已报119"
        assert row(app, "ev-table", first)[2:5] == ["2048", "李强", ""]
        assert row(app, "ev-table", lost)[4] == text("rv.ev.unknown_call").format(key="no-such-")
        assert pane.new == set()  # the first look marks nothing as new
        table = app.screen.query_one("#ev-table", DataTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.pause()
        detail = screen_text(app)
        assert f"通话 {call.key}" in detail and "已报119" in detail

        # Filed while the supervisor looks elsewhere: marked new when the tab is shown again.
        await show_tab(pilot, app, "tab-log")
        later = store.report_event("2048", "燃气泄漏报警")
        await show_tab(pilot, app, "tab-events")
        await until(pilot, lambda: later in row_keys(app, "ev-table"), "the new report")
        assert pane.new == {later}
        assert row(app, "ev-table", later)[0] == "● 新"
        assert row(app, "ev-table", second)[0] == ""
        assert row_keys(app, "ev-table")[0] == later


async def test_follow_ups_overdue_flagged_and_closed_with_a_note(
    build: Build, store: DutyRecord
) -> None:
    late = store.add_follow_up("1024", "回访3号楼漏水", START - dt.timedelta(hours=2))
    soon = store.add_follow_up("2048", "通知业主维修结果", START + dt.timedelta(days=1))
    done = store.add_follow_up("2048", "已回访", START - dt.timedelta(days=1))
    store.close_follow_up(done.key, "2048", "已电话回复")
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-follow-ups")
        pane = app.screen.query_one(FollowUpPane)
        await until(pilot, lambda: pane.items is not None, "follow-ups")
        assert row_keys(app, "fu-table") == [late.key, soon.key]  # open ones, by due
        assert row(app, "fu-table", late.key)[1:4] == ["1024", "王芳", text("rv.fu.overdue")]
        assert row(app, "fu-table", soon.key)[3] == text("rv.fu.open")

        async def choose(which: str, expected: list[str]) -> None:
            app.screen.query_one("#fu-filter", Select).value = which
            await until(pilot, lambda: row_keys(app, "fu-table") == expected, which)

        await choose("overdue", [late.key])
        await choose("all", [done.key, late.key, soon.key])
        assert row(app, "fu-table", done.key)[3] == text("rv.fu.done")
        assert row(app, "fu-table", done.key)[7] == "已电话回复"

        # Closing a closed one is refused on the screen; nothing written.
        app.screen.query_one("#fu-table", DataTable).move_cursor(row=0)
        app.screen.query_one("#fu-note", Input).value = "重复关闭"
        await press_button(pilot, "fu-close")
        closed = text("rv.fu.already").format(short=done.key[:8], state=text("rv.fu.done"))
        await until(pilot, lambda: closed in screen_text(app), "refusal of a closed one")

        await choose("open", [late.key, soon.key])
        app.screen.query_one("#fu-table", DataTable).move_cursor(row=0)
        for blank in ("", "   \t"):
            app.clear_notifications()
            pane.status("")
            app.screen.query_one("#fu-note", Input).value = blank
            await press_button(pilot, "fu-close")
            await until(pilot, lambda: text("rv.fu.need_note") in screen_text(app),
                        "empty note refused")
            assert [f.key for f in store.follow_ups()] == [late.key, soon.key]

        app.screen.query_one("#fu-note", Input).value = "王芳已离职,由主任电话回访完毕"
        app.screen.query_one("#fu-close-as", Select).value = FollowUpStatus.DONE.value
        await press_button(pilot, "fu-close")
        await until(pilot, lambda: row_keys(app, "fu-table") == [soon.key], "closed and gone")
        closed = next(f for f in store.follow_ups(status=None) if f.key == late.key)
        assert closed.status is FollowUpStatus.DONE
        assert closed.closing_note == "王芳已离职,由主任电话回访完毕"
        assert closed.closed_at == START
        audit = [a for a in store.audit_log() if a.action == "follow_up"]
        assert audit[-1].who == "9001" and late.key in audit[-1].detail
        assert app.screen.query_one("#fu-note", Input).value == ""


async def test_an_agent_login_never_reaches_the_oversight_tabs(
    build: Build, store: DutyRecord
) -> None:
    fill_yesterday(store)
    store.report_event("2048", "机密事件摘要")
    store.add_follow_up("2048", "机密跟进事项", START)
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "1024", "s3cret-1024")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        app.push_screen(SupervisorScreen())
        await until(pilot, lambda: bool(app.screen.query("#review-refused")), "refusal")
        for pane in (AttendancePane, EventReportPane, FollowUpPane):
            assert not app.screen.query(pane)
        text = screen_text(app)
        assert "机密" not in text and "午饭" not in text
