"""The agent closes their follow-ups from the seat (首问负责: open until its owner closes it).

Bad inputs tried: an empty closing note (refused, still open), Escape (still open), another
agent's follow-up (not listed), Delete to cancel instead of done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import DataTable, Input

from console.app import DutyConsoleApp
from console.store import FollowUpStatus
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]


async def test_agent_closes_one_follow_up_and_cancels_another(
    build: Build, store, clock: FakeClock
) -> None:
    now = clock.now()
    overdue = store.add_follow_up("1024", "回电 3号楼 漏水", now - dt.timedelta(hours=2))
    later = store.add_follow_up("1024", "回电 5号楼 门禁", now + dt.timedelta(hours=20))
    theirs = store.add_follow_up("2048", "李强的事项", now + dt.timedelta(hours=1))
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await pilot.press("f")
        await until(pilot, lambda: screen_name(app) == "FollowUpsScreen")
        table = app.screen.query_one("#fu-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "own follow-ups listed")
        text = screen_text(app)
        assert "李强的事项" not in text and "超期" in text and "其中超期 1 项" in text
        # The overdue one is first; Enter closes it as done — but a note is required.
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CloseFollowUpScreen")
        await pilot.press("enter")
        await until(pilot, lambda: "请填写处理结果" in screen_text(app), "empty refused")
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "FollowUpsScreen")
        assert len(store.follow_ups(owner="1024")) == 2
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CloseFollowUpScreen")
        app.screen.query_one("#fu-note", Input).value = "已回电,物业已修好"
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 1, "closed one gone from the list")
        await pilot.press("delete")
        await until(pilot, lambda: screen_name(app) == "CloseFollowUpScreen")
        app.screen.query_one("#fu-note", Input).value = "业主已自行处理"
        await pilot.press("enter")
        await until(pilot, lambda: table.row_count == 0, "cancelled one gone")
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
    closed = {f.key: f for f in store.follow_ups(owner="1024", status=None)}
    assert closed[overdue.key].status is FollowUpStatus.DONE
    assert closed[later.key].status is FollowUpStatus.CANCELLED
    assert store.follow_ups(owner="2048")[0].key == theirs.key  # untouched
    audit = [e for e in store.audit_log() if e.action == "follow_up"]
    assert any("已回电" in e.detail and e.who == "1024" for e in audit)
