"""The seat starts its parts in a fixed order, and what the gate-post watch finds reaches it.

Issue 11, point 2: the start-up worker started the flow's gate-post watch before the app had
started the line, so the first probe went over a line not yet started (CallStateError, at
first an AttributeError that killed the watch) and, because the app subscribed to the flow
only afterwards, `门岗: 未检测` never changed. Failed night forwards showed nothing either.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from console.callflow import CallFlow, FlowSettings, ShiftedClock
from console.callflow.ports import ForwardTarget
from console.headset import Headset
from console.runner import Headless, assemble
from console.store import AgentRole, DutyRecord
from console.ui.assemble import open_console
from console.ui.settings import UiSettings
from console.ui.texts import text
from sip.api import CallRinging, CallStateError, LineEvent, LineStatus, Prompt, TransferOutcome
from tests.callflow.fakes import FakeCall, FixedStaffing, MemoryRecords, TinyPrompts
from tests.e2e.labconfig import write_console_toml
from tests.ui.conftest import START, TZ
from tests.ui.fakes import HEADSET, FakeAudio, FakeLine
from tests.ui.helpers import login, screen_name, screen_text, until

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class OrderedLine:
    """A fake line that, like `sip.line.DutyLine`, refuses a probe before `start()`."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.sink = sink
        self.status = LineStatus.STOPPED
        self.log: list[str] = []
        self.lock = threading.Lock()

    def prepare(self, prompts: Iterable[Prompt]) -> None:
        return None

    def start(self, timeout: float = 10.0) -> None:
        with self.lock:
            self.log.append("start")
            self.status = LineStatus.REGISTERED

    def stop(self) -> None:
        with self.lock:
            self.log.append("stop")
            self.status = LineStatus.STOPPED

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        with self.lock:
            self.log.append("probe")
            if self.status is LineStatus.STOPPED:
                raise CallStateError("probe before start()")
        return True

    def calls(self) -> list[Any]:
        return []


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_console_toml(tmp_path, 5060)
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}")
    record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    record.close()
    return path


async def test_the_gate_post_watch_starts_after_the_line_and_the_seat_shows_its_answer(
    config: Path,
) -> None:
    lines: list[OrderedLine] = []

    def factory(cfg: Any, sink: Callable[[LineEvent], None]) -> OrderedLine:
        lines.append(OrderedLine(cfg, sink))
        return lines[-1]

    def build(path: Path, clock: Any) -> Headless:
        return assemble(path, clock=clock, line_factory=factory)  # type: ignore[arg-type]

    app, startup = open_console(config, clock=ShiftedClock(T0), build=build,
                                headset=Headset(FakeAudio([HEADSET], 0)))
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
            answering = f"{text('gate.label', app.language)}: {text('gate.ok', app.language)}"
            await until(pilot, lambda: answering in screen_text(app),
                        "the first probe's answer on the seat")
            line = lines[0]
            assert line.log[0] == "start" and "probe" in line.log
            assert text("gate.alarm", app.language) not in screen_text(app)
            await pilot.press("ctrl+q")
    finally:
        startup.finish()


async def test_the_seat_starts_the_flow_watchers_only_after_the_line(build, flow, line) -> None:
    app = build()
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: flow.lifecycle == ["start"], "watchers started")
        assert line.started == 1
    assert flow.lifecycle == ["start", "stop"] and line.stopped == 1


class FailingStart(FakeLine):
    def start(self, timeout: float = 10.0) -> None:
        raise CallStateError("SIP port 5060 taken")


async def test_a_line_that_does_not_start_leaves_the_watchers_off(
    build, flow, store
) -> None:
    from console.app import make_app

    app = make_app(FailingStart(), store, ShiftedClock(START),
                   UiSettings(drafts_dir=Path("/nonexistent-drafts-unused"), timezone=TZ),
                   flow, headset=Headset(FakeAudio([])))
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: any("5060 taken" in n.message for n in app._notifications),
                    "the line's failure shown")
        assert "start" not in flow.lifecycle
        await login(pilot)
        await until(pilot, lambda: "门岗: 未检测" in screen_text(app), "gate not checked")


async def test_failed_night_forwards_show_on_the_seat(tmp_path, store) -> None:
    from console.app import make_app

    clock = ShiftedClock(START)
    records = MemoryRecords()
    settings = FlowSettings(gate_chain=(ForwardTarget("sip:200@127.0.0.1"),),
                            message_seconds=0.2, digit_timeout=0.2, hangup_timeout=0.2)
    flow = CallFlow(records, FixedStaffing(False), TinyPrompts(), settings, clock=clock)
    ui = UiSettings(drafts_dir=tmp_path / "drafts", timezone=TZ, tick_seconds=0.1)
    app = make_app(FakeLine(), store, clock, ui, flow, headset=Headset(FakeAudio([])))
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
            for n in (1, 2):
                call = FakeCall(flow.on_line_event, f"night-{n}", f"1390000000{n}")
                call.transfer_outcomes = [TransferOutcome.FAILURE]
                flow.on_line_event(CallRinging(call))
                await until(pilot, lambda n=n: f"转接失败 {n} 次" in screen_text(app),
                            f"failure {n} on the status bar")
            text = screen_text(app)
            assert "转门岗失败: 13900000001 → sip:200@127.0.0.1: failure" in text
            assert "转门岗失败: 13900000002 → sip:200@127.0.0.1: failure" in text
            assert "门岗: 无应答!" in text
    finally:
        flow.stop()
