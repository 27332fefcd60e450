"""Follow-ups nobody owns (a message taken with no `follow_ups.default_owner`) were only an
audit alarm: nothing on screen listed them (issue 11, point 11). The 跟进 tab now does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import Static

from console.adapters import StoreCallRecords
from console.app import DutyConsoleApp
from console.callflow.events import CallStep, Mode
from console.store import DutyRecord
from tests.ui.conftest import START
from tests.ui.helpers import until
from tests.ui.supervisor.test_oversight import show_tab
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]


async def test_follow_ups_nobody_owns_are_listed_for_the_supervisor(
    build: Build, store: DutyRecord
) -> None:
    records = StoreCallRecords(store)
    at = START - dt.timedelta(hours=3)
    records.call_rang("c1", "13900000001", at, Mode.NIGHT)
    records.call_answered("c1", at + dt.timedelta(seconds=2), "auto", 1, 2.0)
    records.follow_up("c1", "call back 13900000001 (message)", at, None,
                      at + dt.timedelta(hours=24))
    records.call_ended("c1", at + dt.timedelta(minutes=1), CallStep.WAIT_HANGUP, "remote_bye")
    assert store.follow_ups() == []  # no row: nobody to own it
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-follow-ups")
        unowned = app.screen.query_one("#fu-unowned", Static)
        await until(pilot, lambda: "1 条" in str(unowned.render()), "the unowned follow-up")
        words = str(unowned.render())
        assert "无人负责的跟进" in words and "回电 13900000001(已留言)" in words
        assert unowned.display and unowned.has_class("-alarm")


async def test_no_unowned_follow_ups_no_line(build: Build) -> None:
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-follow-ups")
        pane_static = app.screen.query_one("#fu-unowned", Static)
        await until(pilot, lambda: app.screen.query_one("#fu-table").display, "the table")
        await pilot.pause(0.3)  # the unowned query's worker had its turn
        assert not pane_static.display and str(pane_static.render()) == ""
