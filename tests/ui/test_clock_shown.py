"""Times on the seat are the line's (issue 11, point 5): a follow-up due 10:05 showed
`03-03 02:05` (the record's UTC) in the seat's open follow-ups and in the handover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from console.app import DutyConsoleApp
from console.store import DutyRecord
from tests.ui.conftest import START
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]


async def test_open_follow_ups_and_the_handover_show_local_due_times(
    build: Build, store: DutyRecord
) -> None:
    due = START + dt.timedelta(days=1, minutes=5)  # 03-03 10:05 at the line
    store.add_follow_up("1024", "回电 王先生", due)
    store.write_handover("2048", "平静", "回电 王先生")
    app = build()
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "HandoverAcceptScreen", "handover")
        await until(pilot, lambda: "03-03 10:05" in screen_text(app), "due in the handover")
        assert "03-03 02:05" not in screen_text(app)
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await until(pilot, lambda: "03-03 10:05" in screen_text(app), "due on the seat")
        assert "03-03 02:05" not in screen_text(app)
