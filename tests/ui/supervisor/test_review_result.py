"""The agent's 处理结果 reaches the record, the detail and the export (issue 11, point 4),
and an amended 类别 is what the export shows (point 11).

The calls go through the real recording path: the flow's `StoreCallRecords` writes the
call's facts (the survey's answer among them) and the seat's `RecordNotes` the agent's notes,
in the order they happen on a call: notes while talking, the survey, the seal.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, Select

from console.adapters import StoreCallRecords
from console.app import DutyConsoleApp
from console.callflow.events import CallStep, Mode
from console.screens.supervisor.detail import CallDetailScreen
from console.store import DutyRecord
from console.ui.notes import CallNotes, RecordNotes
from console.widgets.review.export import ExportPane
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeClock
from tests.ui.helpers import press_button, screen_text, until
from tests.ui.supervisor.test_review_screens import open_review
from tests.ui.supervisor.test_review_tabs import show_tab

Build = Callable[..., DutyConsoleApp]


def served_call(store: DutyRecord, clock: FakeClock, call_id: str, notes: CallNotes,
                score: int | None) -> str:
    """A call answered by 1024 with `notes` typed during it, then rated `score`, sealed."""
    records = StoreCallRecords(store)
    writer = RecordNotes(store, now=clock.now, who="1024")
    at = clock.now()
    records.call_rang(call_id, "13800000001", at, Mode.STAFFED)
    records.call_answered(call_id, at + dt.timedelta(seconds=4), "1024", 1, 4.0)
    assert writer.write(call_id, notes, "1024") == "open"
    records.satisfaction(call_id, score)  # the survey comes after the notes
    records.call_ended(call_id, at + dt.timedelta(seconds=90), CallStep.WAIT_HANGUP,
                       "remote_bye")
    key = writer.key(call_id)
    assert key is not None
    return key


def test_the_survey_does_not_wipe_the_agents_result(store: DutyRecord, clock: FakeClock) -> None:
    rated = served_call(store, clock, "c1", CallNotes(result="follow_up"), 2)
    unrated = served_call(store, clock, "c2", CallNotes(result="resolved"), None)
    assert store.get_call(rated).result == "follow_up"
    assert store.get_call(rated).satisfaction == 2
    assert store.get_call(unrated).result == "resolved"
    assert store.get_call(unrated).satisfaction is None


async def test_result_and_amended_category_in_the_detail_and_the_csv(
    build: Build, store: DutyRecord, clock: FakeClock, tmp_path: Path
) -> None:
    key = served_call(
        store, clock, "c1", CallNotes(category="repair", result="follow_up", content="电梯"), 1
    )
    store.amend(key, "category", "complaint", who="9001", why="是投诉")
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        app.push_screen(CallDetailScreen(key))
        await until(pilot, lambda: isinstance(app.screen, CallDetailScreen)
                    and app.screen.detail is not None, "detail")
        await until(pilot, lambda: "处理结果: 待回复" in screen_text(app), "result shown")
        await pilot.press("escape")
        await show_tab(pilot, app, "tab-export")
        pane = app.screen.query_one(ExportPane)
        app.screen.query_one("#e-dir", Input).value = str(tmp_path)
        app.screen.query_one("#e-what", Select).value = "month"
        app.screen.query_one("#e-month", Input).value = f"{START:%Y-%m}"
        app.screen.query_one("#e-format", Select).value = "csv"
        await press_button(pilot, "e-run")
        await until(pilot, lambda: pane.last is not None, "export")
        assert pane.last is not None
        with pane.last.path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        header, row = rows[0], rows[1]
        assert row[header.index("处理结果")] == "待回复"
        assert row[header.index("类别")] == "投诉"  # as amended
        assert "类别: 报修→投诉" in row[header.index("更正记录")]
        assert row[header.index("满意度")] == "满意"


def test_a_message_taken_call_is_listed_as_a_message_not_as_answered(
    store: DutyRecord, clock: FakeClock
) -> None:
    """Point 11: message-taken calls were listed as 已接听 (auto-answered, then a message)."""
    from console.store.review import ReviewFilter, call_page
    from console.widgets.review.call_log import call_row

    records = StoreCallRecords(store)
    at = clock.now()
    records.call_rang("m1", "13800000002", at, Mode.STAFFED)
    records.call_answered("m1", at + dt.timedelta(seconds=15), "auto", 3, 15.0)
    records.message_taken("m1", 30.0, None)
    records.call_ended("m1", at + dt.timedelta(seconds=60), CallStep.WAIT_HANGUP, "remote_bye")
    (row,) = call_page(store, ReviewFilter()).calls
    assert row.result == "message"
    assert call_row(row, TZ)[3] == "已留言"
