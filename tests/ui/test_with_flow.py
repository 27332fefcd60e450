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


SECOND_ON_A_LOADED_MACHINE = 2.0
"""Issue 11 asks for the call state within a second; tests share 2 cores with other suites."""


def _banner(app: DutyConsoleApp) -> str:
    from console.widgets.ring_banner import RingBanner

    return str(app.screen.query_one(RingBanner).render())


async def test_the_banner_follows_an_auto_answered_call_through_hold_and_message(
    wired,
) -> None:
    """Issue 11, point 1: after the auto-answer the banner kept counting ring seconds and
    said "on hold — Enter takes over" while the caller was leaving a message; the status bar
    said 就绪 with a caller on the line."""
    import time

    from console.screens.seat import SeatScreen
    from console.widgets.status_bar import StatusBar

    app, flow, caller, _records = wired(
        FlowSettings(ring_limit_seconds=0.3, ring_cadence=0.1, handover_timeout=1.5,
                     message_seconds=1.5, digit_timeout=5, hangup_timeout=5)
    )
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        seat = app.screen
        assert isinstance(seat, SeatScreen)
        call = caller.ring("13900139000")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.HOLD)
        held_at = time.monotonic()
        await until(pilot, lambda: "保持中" in _banner(app), "hold on the banner")
        # The banner is redrawn on the flow's event itself (≈50 ms idle); the bound leaves room
        # for a loaded 2-core CI machine while still failing a banner that waits for a tick.
        # The seat's list of auto-answered calls is another widget on the same event: it
        # may paint a frame after the banner (seen once in CI), within the same bound.
        await until(pilot, lambda: "自动接听的来电" in screen_text(app), "the seat's list")
        assert time.monotonic() - held_at < SECOND_ON_A_LOADED_MACHINE
        banner = _banner(app)
        assert "按 Enter 接手" in banner
        assert "自动接听于 0 秒" in banner  # the count stopped at the answer
        status = str(seat.query_one(StatusBar).render())
        assert "控制台接管: 13900139000 保持中" in status
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.MESSAGE)
        message_at = time.monotonic()
        await until(pilot, lambda: "客户留言中" in _banner(app), "the message on the banner")
        assert time.monotonic() - message_at < SECOND_ON_A_LOADED_MACHINE
        assert "已不能接手" in _banner(app) and "按 Enter 接手" not in _banner(app)
        await until(pilot, lambda: "客户留言中" in str(seat.query_one(StatusBar).render()),
                    "the message on the status bar")
        await pilot.press("enter")  # too late: the caller is leaving a message
        await until(pilot, lambda: "来电已结束或已被接听" in screen_text(app), "told so")
        assert screen_name(app) == "RingingScreen"
        call.caller_hangs_up()
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "banner gone")
        await until(pilot, lambda: "控制台接管" not in str(seat.query_one(StatusBar).render()),
                    "the status bar clear again")


GATE = "sip:200@127.0.0.1"


async def test_ctrl_q_with_a_call_ringing_asks_then_hands_it_to_the_gate_post(wired) -> None:
    """Issue 11, point 7: Ctrl+Q with a call ringing quit at once; the caller got 480 and the
    call was sealed interrupted. Now the seat asks, forwards the call, then exits."""
    from console.callflow.ports import ForwardTarget

    app, _flow, caller, records = wired(
        FlowSettings(ring_limit_seconds=30, gate_chain=(ForwardTarget(GATE),))
    )
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13700137000")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen", "asked first")
        assert "1 通来电在线" in screen_text(app)
        assert app.return_code is None and call.actions == []  # nothing done yet
        await press_button(pilot, "yes")
        row = records.wait_closed(call.call_id, timeout=10)
        await until(pilot, lambda: app.return_code is not None or bool(app._exit), "exited")
    assert row.end_reason == "transferred"
    assert f"transfer {GATE} success" in call.actions and "hangup" not in call.actions
    assert app.return_value == 0


async def test_a_seat_ending_on_an_error_hands_its_ringing_call_to_the_gate_post(wired) -> None:
    """An error nothing handled ended the seat, and its shutdown stopped the line: the
    ringing caller got 480 (the tmux review test's board-tab crash). The real flow now takes
    the call for the hand-over and transfers it, as after a confirmed Ctrl+Q."""
    from console.callflow.ports import ForwardTarget

    app, _flow, caller, records = wired(
        FlowSettings(ring_limit_seconds=30, gate_chain=(ForwardTarget(GATE),))
    )

    def fail() -> None:
        raise RuntimeError("a widget ID used twice")

    with pytest.raises(RuntimeError, match="used twice"):
        async with app.run_test(size=(150, 45)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            call = caller.ring("13700137000")
            await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
            app.call_later(fail)
            await pilot.pause(0.5)
    row = records.wait_closed(call.call_id, timeout=10)
    assert row.end_reason == "transferred"
    assert f"transfer {GATE} success" in call.actions and "hangup" not in call.actions
    assert app.return_code == 1


async def test_ctrl_q_cancelled_keeps_the_seat_and_the_call(wired) -> None:
    app, flow, caller, records = wired(FlowSettings(ring_limit_seconds=30))
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13700137001")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen", "asked first")
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "back to the call")
        assert flow.active().get(call.call_id) is CallStep.RINGING
        call.caller_hangs_up()
        records.wait_closed(call.call_id)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "call gone")
        await pilot.press("ctrl+q")  # nothing on the line: quits without asking
        await until(pilot, lambda: app.return_code is not None or bool(app._exit), "exited")


async def test_ctrl_q_when_the_gate_post_refuses_keeps_the_seat_open_with_the_call(
    wired,
) -> None:
    from console.callflow.ports import ForwardTarget
    from sip.api import TransferOutcome

    app, flow, caller, records = wired(
        FlowSettings(ring_limit_seconds=30, gate_chain=(ForwardTarget(GATE),))
    )
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13700137002")
        call.transfer_outcomes = [TransferOutcome.FAILURE]
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen", "asked first")
        await press_button(pilot, "yes")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "the agent has the call")
        await until(pilot, lambda: "未能转给门岗" in screen_text(app), "told so")
        assert app.return_code is None and not app._exit
        assert flow.active().get(call.call_id) is CallStep.CONVERSATION
        screen = app.screen
        assert isinstance(screen, CallScreen)
        call.caller_hangs_up()
        records.wait_closed(call.call_id)
        await until(pilot, lambda: screen.phase is CallPhase.AFTER_CALL, "after-call work")
