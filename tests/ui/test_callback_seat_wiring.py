"""The seat as `duty-console` starts it (cold start over `console.runner.assemble`) places
callbacks through the assembled line, while the headless parts' own dialler stays unattended.

A fake line is built through `assemble`'s factory (no PBX in a UI test); the follow-up's call
is in the record the config names. Bad input tried: the headless dialler itself (refused).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import DataTable

from console.callflow import ShiftedClock
from console.domain.callback import CallbackRefused
from console.headset import Headset
from console.runner import Headless, assemble
from console.store import AgentRole, CallOutcome, DutyRecord, FollowUpStatus
from console.ui.assemble import open_console
from sip.api import DialResult, LineEvent, LineStatus, Prompt
from tests.e2e.labconfig import write_console_toml
from tests.ui.fakes import HEADSET, FakeAudio
from tests.ui.helpers import login, screen_name, screen_text, until
from tests.ui.test_callback_follow_up import HeldCall

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class DiallingLine:
    """A fake line through `assemble`: registers when started, records every dial."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.status = LineStatus.STOPPED
        self.dialled: list[HeldCall] = []
        self.observed_address = None

    def prepare(self, prompts: Iterable[Prompt]) -> None: ...

    def start(self, timeout: float = 10.0) -> None:
        self.status = LineStatus.REGISTERED

    def stop(self) -> None:
        self.status = LineStatus.STOPPED

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True

    def calls(self) -> list[Any]:
        return []

    def dial(self, number: str, ring_seconds: float = 30.0) -> HeldCall:
        self.dialled.append(HeldCall(number, DialResult(486, "Busy Here")))
        return self.dialled[-1]


@pytest.fixture
def config(tmp_path: Path) -> tuple[Path, str]:
    path = write_console_toml(tmp_path, 5060)
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}")
    record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    call = record.open_call("hotline", T0 - dt.timedelta(hours=1), caller_number="13800138000")
    record.seal_call(call, CallOutcome.ANSWERED, ended_at=T0 - dt.timedelta(minutes=50))
    fu = record.add_follow_up("1024", "回电", T0 + dt.timedelta(hours=1), call_key=call).key
    record.close()
    return path, fu


async def test_the_cold_started_seat_calls_back_through_the_assembled_line(
    config: tuple[Path, str],
) -> None:
    path, fu = config
    lines: list[DiallingLine] = []

    def factory(cfg: Any, sink: Callable[[LineEvent], None]) -> DiallingLine:
        lines.append(DiallingLine(cfg, sink))
        return lines[-1]

    def build(config_path: Path, clock: Any) -> Headless:
        return assemble(config_path, clock=clock, line_factory=factory)  # type: ignore[arg-type]

    app, startup = open_console(path, clock=ShiftedClock(T0), build=build,
                                headset=Headset(FakeAudio([HEADSET], 0)))
    try:
        async with app.run_test(size=(150, 45)) as pilot:
            await until(pilot, lambda: app.ready.is_set(), "start-up done")
            assert startup.headless is not None
            unattended = startup.headless.parts["callbacks"]
            assert app.callbacks is not None and app.callbacks.attended
            assert not unattended.attended and app.callbacks.line is lines[0] is unattended.line
            with pytest.raises(CallbackRefused, match="headless line never dials"):
                unattended.place(fu, "1024")
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
            await pilot.press("f")
            await until(pilot, lambda: screen_name(app) == "FollowUpsScreen")
            table = app.screen.query_one("#fu-table", DataTable)
            await until(pilot, lambda: table.row_count == 1, "the follow-up listed")
            await pilot.press("c")
            await until(pilot, lambda: "follow-up stays open" in screen_text(app),
                        "busy: still open (the lab config's seat speaks English)")
            await pilot.press("escape")
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            await pilot.press("ctrl+q")
    finally:
        startup.finish()
    assert [c.number for c in lines[0].dialled] == ["13800138000"]  # once, from the seat
    record = DutyRecord(f"sqlite:///{path.parent / 'duty.db'}")
    try:
        [cb] = record.callbacks_of(fu)
        assert cb.outcome is CallOutcome.BUSY and cb.sealed_at is not None
        assert record.follow_ups()[0].status is FollowUpStatus.OPEN
    finally:
        record.close()
