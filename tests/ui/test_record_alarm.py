"""The seat shows the duty record's trouble and clears it when it is over (issue 10): with
the database away the calls go on (their facts wait in the outbox), and the agent sees so."""

from __future__ import annotations

from collections.abc import Callable

from console.app import DutyConsoleApp
from console.callflow.events import RecordAlarm
from console.widgets.status_bar import StatusBar
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]


async def test_database_away_then_back_and_outbox_disk_full(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        bar = app.screen.query_one(StatusBar)
        assert "记录:" not in screen_text(app)
        flow.emit(RecordAlarm(clock.now(), "db_down", "database is locked", pending=3))
        await until(pilot, lambda: "记录:数据库不可用,3 条待写" in screen_text(app), "down")
        assert bar.has_class("-alarm")
        flow.emit(RecordAlarm(clock.now(), "outbox_at_risk", "disk full", 9, unsaved=2))
        await until(pilot, lambda: "暂存盘满,2 条仅在内存" in screen_text(app), "at risk")
        flow.emit(RecordAlarm(clock.now(), "outbox_safe", "on disk again", 9))
        flow.emit(RecordAlarm(clock.now(), "db_back", "12 writes applied"))
        await until(pilot, lambda: "记录:" not in screen_text(app), "cleared")
        assert not bar.has_class("-alarm")
