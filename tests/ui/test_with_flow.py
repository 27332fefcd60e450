"""The seat over the real headless `CallFlow` (fake SIP calls): the wiring, not just the screens."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from console.app import DutyConsoleApp, make_app
from console.callflow import CallFlow, FlowSettings, ShiftedClock
from console.callflow.events import CallStep
from console.headset import Headset
from console.screens.call import CallPhase, CallScreen
from console.ui.settings import UiSettings
from tests.callflow.fakes import FakeLine as CallerSide
from tests.callflow.fakes import FixedStaffing, MemoryRecords, TinyPrompts
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeAudio, FakeLine
from tests.ui.helpers import login, press_button, screen_name, screen_text, until


@pytest.fixture
def wired(
    tmp_path, store
) -> Iterator[Callable[[FlowSettings], tuple[DutyConsoleApp, CallFlow, CallerSide, MemoryRecords]]]:
    flows: list[CallFlow] = []

    def make(
        settings: FlowSettings,
    ) -> tuple[DutyConsoleApp, CallFlow, CallerSide, MemoryRecords]:
        clock = ShiftedClock(START)
        records = MemoryRecords()
        flow = CallFlow(records, FixedStaffing(True), TinyPrompts(), settings, clock=clock)
        flows.append(flow)
        caller = CallerSide(flow.on_line_event)
        ui = UiSettings(drafts_dir=tmp_path / "drafts", timezone=TZ, tick_seconds=0.1)
        app = make_app(FakeLine(), store, clock, ui, flow, headset=Headset(FakeAudio([])))
        return app, flow, caller, records

    yield make
    for flow in flows:
        flow.stop()


async def test_ring_answer_survey_and_caller_hangup_through_the_real_flow(wired) -> None:
    app, flow, caller, records = wired(
        FlowSettings(ring_limit_seconds=60, digit_timeout=5, hangup_timeout=5)
    )
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13800138000")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "on call")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.CONVERSATION)
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await pilot.press("f3")
        await until(pilot, lambda: "survey" in call.played, "survey prompt played")
        call.press("1")
        await until(pilot, lambda: "满意度: 满意" in screen_text(app), "score on screen")
        call.caller_hangs_up()
        await until(pilot, lambda: screen.phase is CallPhase.AFTER_CALL, "after-call work")
        row = records.wait_closed(call.call_id)
        assert row.answered_by == "1024" and row.satisfaction == 1
        assert call.actions[0] == "answer"


async def test_auto_answer_at_the_limit_then_the_agent_takes_over(wired) -> None:
    app, flow, caller, records = wired(
        FlowSettings(ring_limit_seconds=0.3, ring_cadence=0.1, handover_timeout=30)
    )
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13900139000")
        await until(pilot, lambda: "已自动接听" in screen_text(app), "auto-answer shown")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.HOLD)
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "taken over")
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await until(pilot, lambda: records.rows[call.call_id].handed_to == "1024", "recorded")
        assert records.rows[call.call_id].answered_by == "auto"
        # The agent hangs up (after confirming): the survey runs, then our BYE.
        await pilot.press("f8")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await press_button(pilot, "yes")
        await until(pilot, lambda: "survey" in call.played, "survey prompt played")
        call.press("2")
        row = records.wait_closed(call.call_id)
        await until(pilot, lambda: screen.phase is CallPhase.AFTER_CALL, "after-call work")
        assert row.satisfaction == 2 and row.end_reason == "local_hangup"
        assert call.actions[-1] == "hangup"  # ended by us, at the agent's request
