"""The supervisor's review shows the record's words as written, never read as markup.

A caller number from an INVITE, a note, an amendment's reason, an event summary, a handover
or a follow-up typed as "[/]…" raised MarkupError while drawing (Static and Label parse
markup) and stopped the console; each test puts such text where a review screen shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import Input, TabbedContent

from console.app import DutyConsoleApp
from console.screens.supervisor.detail import CallDetailScreen
from console.store import CallOutcome, DutyRecord
from console.ui.texts import text
from console.widgets.review.attendance import AttendancePane
from console.widgets.review.events import EventReportPane
from console.widgets.review.follow_ups import FollowUpPane
from console.widgets.review.handovers import HandoverPane
from tests.ui.conftest import START
from tests.ui.helpers import screen_text, until
from tests.ui.markup import CALLER, NOTE, assert_alive, shown, toasts
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]

WHY = "[link=javascript:x]误记[/]"





def a_call(store: DutyRecord) -> str:
    ring = START - dt.timedelta(hours=2)
    key = store.open_call("hotline", ring, caller_number=CALLER)
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        answered_at=ring + dt.timedelta(seconds=3),
        ended_at=ring + dt.timedelta(seconds=60),
        answered_by="1024",
        content=NOTE,
        caller_name="[red]王",
    )
    return key


async def test_call_detail_shows_notes_amendments_and_follow_ups_as_typed(
    build: Build, store: DutyRecord
) -> None:
    key = a_call(store)
    store.amend(key, "action", "[/]已派人", "9001", WHY)
    store.add_follow_up("1024", f"回访 {NOTE}", START + dt.timedelta(hours=3), key)
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        app.push_screen(CallDetailScreen(key))
        await until(
            pilot,
            lambda: isinstance(app.screen, CallDetailScreen) and app.screen.detail is not None,
            "detail",
        )
        screen = app.screen
        facts = shown(screen.query_one("#detail-facts"))
        assert f"来电号码: {CALLER}" in facts and "来电人: [red]王" in facts
        assert f"来电内容: {NOTE}" in facts and "处理情况: [/]已派人  [原值:" in facts
        assert WHY in shown(screen.query_one("#detail-amendments"))
        assert f"回访 {NOTE}" in shown(screen.query_one("#detail-follow-ups"))
        await pilot.pause()
        text = screen_text(app)
        assert CALLER in text and NOTE in text and WHY in text
        # A score typed as markup is refused by a label that quotes it.
        screen.query_one("#score-value", Input).value = "[/]"
        screen.query_one("#score-submit").press()  # type: ignore[attr-defined]
        await until(pilot, lambda: "“[/]”" in shown(screen.query_one("#score-error")), "refusal")
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_oversight_tabs_show_summaries_notes_and_bad_input_as_typed(
    build: Build, store: DutyRecord
) -> None:
    key = a_call(store)
    store.report_event("1024", f"电梯困人 {NOTE}", key)
    store.add_follow_up("1024", f"回访 {NOTE}", START + dt.timedelta(hours=3), key)
    store.write_handover("1024", NOTE, WHY)
    app = build()
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await open_review(pilot, app)
        tabs = app.screen.query_one("#review-tabs", TabbedContent)

        tabs.active = "tab-events"
        events = app.screen.query_one(EventReportPane)
        await until(pilot, lambda: events.lines is not None, "event reports")
        detail = shown(app.screen.query_one("#ev-detail"))
        assert f"来电 {CALLER}" in detail and f"电梯困人 {NOTE}" in detail
        await pilot.pause()
        assert f"电梯困人 {NOTE}" in screen_text(app)

        tabs.active = "tab-follow-ups"
        follow_ups = app.screen.query_one(FollowUpPane)
        await until(pilot, lambda: follow_ups.items is not None, "follow-ups")
        await until(
            pilot, lambda: NOTE in shown(app.screen.query_one("#fu-detail")), "follow-up detail"
        )

        tabs.active = "tab-handovers"
        handovers = app.screen.query_one(HandoverPane)
        await until(pilot, lambda: handovers.handovers is not None, "handovers")
        await until(
            pilot, lambda: WHY in shown(app.screen.query_one("#h-notes")), "handover notes"
        )
        assert NOTE in shown(app.screen.query_one("#h-notes"))
        await pilot.pause()
        assert WHY in screen_text(app)

        # A date typed as markup: the pane's status line and the toast quote it as typed.
        tabs.active = "tab-attendance"
        attendance = app.screen.query_one(AttendancePane)
        await until(pilot, lambda: attendance.view is not None, "attendance")
        app.screen.query_one("#a-day", Input).value = "[/]"
        attendance.reload()
        await until(
            pilot, lambda: "“[/]”" in shown(attendance.query_one(".pane-status")), "bad date"
        )
        await until(pilot, lambda: any("“[/]”" in t for t in toasts(app)), "toast drawn")
        assert text("rv.bad_date").format(what=text("rv.a.day"), value="[/]") in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_kpi_status_quotes_a_bad_date_as_typed(build: Build, store: DutyRecord) -> None:
    app = build()
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await open_review(pilot, app)
        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-kpis"
        await pilot.pause()
        app.screen.query_one("#k-day", Input).value = "[b]x[/i]"
        await pilot.press("tab")  # leave whatever has the focus; submit below
        app.screen.query_one("#k-refresh").press()  # type: ignore[attr-defined]
        await until(
            pilot, lambda: "“[b]x[/i]”" in shown(app.screen.query_one("#k-status")), "bad date"
        )
        await until(pilot, lambda: any("“[b]x[/i]”" in t for t in toasts(app)), "toast drawn")
        assert text("rv.bad_date").format(what=text("rv.date"), value="[b]x[/i]") in screen_text(
            app
        )
        assert_alive(app)
    assert app.return_code in (None, 0)
