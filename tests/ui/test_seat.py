"""Pilot tests of the seat: login, seat, ringing, on call, after-call work, and the key paths."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from textual.widgets import Input, TextArea

from console.app import DutyConsoleApp
from console.callflow.events import (
    CallAnswered,
    CallFinished,
    CallStep,
    StepChanged,
    SurveyScored,
)
from console.domain.agent import AgentState as SeatState
from console.domain.script import ScriptStep
from console.screens.call import CallPhase, CallScreen
from console.store import AgentRole, AgentState
from tests.ui.conftest import START
from tests.ui.fakes import FakeClock, FakeFlow, FakeLine
from tests.ui.helpers import (
    answer_call,
    classify,
    login,
    press_button,
    ring,
    screen_name,
    screen_text,
    until,
)

Build = Callable[..., DutyConsoleApp]


async def test_login_opens_the_seat_with_status(build: Build, store, line: FakeLine) -> None:
    app = build()
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        assert app.agent is not None and app.agent.state is SeatState.READY
        await until(pilot, lambda: "已注册" in screen_text(app), "line status on screen")
        text = screen_text(app)
        assert "1024 就绪" in text
        assert "日间" in text and "耳机: 就绪" in text
        assert line.started == 1
        # The login is a line of its own (late: 10:00 is after 08:30), then the seat's ready,
        # at the same moment; the seat's state timer starts at that ready.
        await until(pilot, lambda: len(store.agent_states("1024")) == 2, "login logged")
        assert log_shape(store, "1024") == [
            (AgentState.LOGGED_IN, "late login", START), (AgentState.READY, None, START)]
        assert app.agent.since == START and "1024 就绪 00:00" in screen_text(app)
    assert line.stopped == 1


def log_shape(store, agent_id: str) -> list[tuple[AgentState, str | None, dt.datetime]]:  # type: ignore[no-untyped-def]
    return [(c.state, c.reason, c.at) for c in store.agent_states(agent_id)]


async def test_a_login_after_a_logout_is_logged_again_and_on_time_without_a_reason(
    build: Build, store, clock: FakeClock
) -> None:
    """Gate post and supervisor log in the same way as an agent; on time, no reason."""
    store.create_agent("7001", "赵门岗", AgentRole.GATE_POST, "s3cret-7001")
    app = build(settings={"late_after": dt.time(10, 0)})  # 10:00 is not after 10:00
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot, "7001", "s3cret-7001")
        await until(pilot, lambda: screen_name(app) == "GatePostScreen", "gate post screen")
        await until(pilot, lambda: len(store.agent_states("7001")) == 2, "gate post login")
        assert log_shape(store, "7001") == [
            (AgentState.LOGGED_IN, None, START), (AgentState.READY, None, START)]
        app.logout()
        await until(pilot, lambda: screen_name(app) == "LoginScreen"
                    and bool(app.screen.query("#agent-id")), "logged out, login form up")
        clock.advance(60)
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "supervisor")
        await until(pilot, lambda: len(store.agent_states("9001")) == 2, "supervisor login")
        later = START + dt.timedelta(seconds=60)
        assert log_shape(store, "9001") == [
            (AgentState.LOGGED_IN, "late login", later), (AgentState.READY, None, later)]
        await until(pilot, lambda: len(store.agent_states("7001")) == 3, "gate post logout")
        assert log_shape(store, "7001")[2] == (AgentState.LOGGED_OUT, "early logout", START)


async def test_wrong_secret_counts_and_locks_out(build: Build, store) -> None:
    app = build()
    async with app.run_test(size=(140, 40)) as pilot:
        for _ in range(2):
            await login(pilot, "1024", "wrong-secret")
            await until(pilot, lambda: "登录失败" in screen_text(app) or "Login failed"
                        in screen_text(app), "failure shown")
            assert screen_name(app) == "LoginScreen"
        await login(pilot, "1024", "wrong-secret")
        await until(pilot, lambda: "locked" in screen_text(app), "lockout shown")
        # Even the right secret is refused while locked, and the screen says why.
        await login(pilot, "1024", "s3cret-1024")
        await until(pilot, lambda: "Agent locked" in screen_text(app), "still locked")
        assert screen_name(app) == "LoginScreen" and app.agent is None


async def test_empty_login_is_refused_without_asking_the_store(build: Build) -> None:
    app = build()
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot, "", "")
        await until(pilot, lambda: "请输入工号和密码" in screen_text(app), "empty refused")
        assert app.agent is None


async def test_ring_answer_script_notes_survey_hangup_after_call(
    build: Build, flow: FakeFlow, clock: FakeClock, store
) -> None:
    app = build()
    async with app.run_test(size=(150, 50)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c1", "13800000001", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        clock.advance(6)
        await until(pilot, lambda: "振铃 2/3" in screen_text(app), "live ring count")
        assert "13800000001" in screen_text(app) and "时限 15" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "call screen")
        assert flow.taken == [("c1", "1024")]
        assert app.agent is not None and app.agent.state is SeatState.ON_CALL
        flow.emit(CallAnswered(clock.now(), "c1", "1024", 2, 6.0))
        screen = app.screen
        assert isinstance(screen, CallScreen)
        assert "工号 1024" in screen_text(app)  # the greeting, filled in
        await pilot.press("f2", "f2")
        assert screen.script.step is ScriptStep.LISTEN
        # Notes: typed, saved as typed (debounced) into the draft.
        screen.query_one("#caller_name", Input).focus()
        await pilot.press(*"Wang")
        screen.query_one("#content", TextArea).focus()
        await pilot.press(*"lift broken")
        draft = app.drafts.path("c1")
        await until(pilot, lambda: draft.exists() and "lift broken" in draft.read_text(),
                    "draft saved")
        await pilot.press("f3")
        await until(pilot, lambda: ("finish_call", "c1") in flow.actions, "survey asked")
        assert screen.script.step is ScriptStep.SURVEY
        flow.emit(
            StepChanged(clock.now(), "c1", CallStep.SURVEY),
            SurveyScored(clock.now(), "c1", 1),
            StepChanged(clock.now(), "c1", CallStep.WAIT_HANGUP),
        )
        await until(pilot, lambda: screen.script.step is ScriptStep.WAIT_HANGUP, "wait hangup")
        await until(pilot, lambda: "满意度: 满意" in screen_text(app), "score shown")
        flow.emit(CallFinished(clock.now(), "c1", CallStep.WAIT_HANGUP, "caller_hangup", "1024"))
        await until(pilot, lambda: screen.phase is CallPhase.AFTER_CALL, "after-call work")
        assert screen.script.step is ScriptStep.DONE
        assert app.agent.state is SeatState.AFTER_CALL_WORK
        assert "话后处理" in screen_text(app)
        # Still editable after the hang-up; F10 finishes and the seat is ready again.
        screen.query_one("#action", Input).focus()
        await pilot.press(*"sent fitter")
        classify(app, "repair")
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "back to seat")
        assert app.agent.state is SeatState.READY
        await until(pilot, lambda: "sent fitter" in draft.read_text(), "last edit saved")
        saved = json.loads(draft.read_text())["notes"]
        assert saved["caller_name"] == "Wang" and saved["content"] == "lift broken"


async def test_auto_answer_at_the_limit_is_shown_and_taken_over(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c2", "13900000002", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen")
        clock.advance(15)
        flow.emit(CallAnswered(clock.now(), "c2", "auto", 3, 15.0),
                  StepChanged(clock.now(), "c2", CallStep.HOLD))
        await until(pilot, lambda: "已自动接听" in screen_text(app), "auto-answer shown")
        assert "振铃 3/3" in screen_text(app)
        await pilot.press("space")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "taken over")
        assert flow.taken == [("c2", "1024")]


async def test_caller_hangs_up_while_ringing_closes_the_banner(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c3", "13700000003", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen")
        flow.takeable.discard("c3")
        flow.emit(CallFinished(clock.now(), "c3", CallStep.RINGING, "abandoned", None))
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "banner gone")
        # A late key press on the seat does not answer a call that is gone.
        await pilot.press("a")
        assert flow.taken == []


async def test_call_waiting_while_on_call_then_taken(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c4", "13600000004", clock.now())
        from console.callflow.events import Mode

        ring(flow, "c5", "13500000005", clock.now(), Mode.WAITING)
        flow.emit(CallAnswered(clock.now(), "c5", "auto", 1, 0.1),
                  StepChanged(clock.now(), "c5", CallStep.WAITING))
        await until(pilot, lambda: "13500000005" in screen_text(app), "waiting call shown")
        assert screen_name(app) == "CallScreen"  # no banner over the live call
        flow.emit(CallFinished(clock.now(), "c4", CallStep.CONVERSATION, "caller_hangup", "1024"))
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await until(pilot, lambda: screen.phase is CallPhase.AFTER_CALL)
        classify(app)
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        assert "13500000005" in screen_text(app)
        await pilot.press("a")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "waiting call taken")
        assert flow.taken[-1] == ("c5", "1024")


async def test_hang_up_asks_first_and_cancel_keeps_the_call(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c6", "13400000006", clock.now())
        await pilot.press("f8")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen", "asks first")
        assert "客户尚未挂机" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "CallScreen")
        assert ("hang_up", "c6") not in flow.actions
        await pilot.press("f8")
        await until(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await press_button(pilot, "yes")
        await until(pilot, lambda: ("hang_up", "c6") in flow.actions, "hung up")
        await pilot.press("f4", "f6")
        await until(pilot, lambda: ("hold", "c6") in flow.actions, "hold")
        assert ("transfer_to_gate_post", "c6") in flow.actions


async def test_next_call_rings_through_after_call_work(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "a1", "13800000021", clock.now())
        first = app.screen
        assert isinstance(first, CallScreen)
        flow.emit(CallFinished(clock.now(), "a1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: first.phase is CallPhase.AFTER_CALL)
        ring(flow, "a2", "13800000022", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "rings during ACW")
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen" and app.screen is not first)
        assert app.agent is not None and app.agent.state is SeatState.ON_CALL
        assert first in app.screen_stack  # the unfinished notes wait underneath
        flow.emit(CallFinished(clock.now(), "a2", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: "话后处理" in screen_text(app))
        classify(app)
        await pilot.press("f10")
        await until(pilot, lambda: app.screen is first, "back to the first call's notes")
        classify(app)
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        assert app.agent.state is SeatState.READY


async def test_hold_toggles_and_a_refused_transfer_is_reported(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    """F6 holds, the flow's HOLD step shows on the head, F6 again takes the caller back;
    F4 to a gate post that refuses warns the agent and keeps the call on screen."""
    flow.transfer_ok = False
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "h1", "13400000007", clock.now())
        await pilot.press("f6")
        await until(pilot, lambda: ("hold", "h1") in flow.actions, "hold asked")
        flow.emit(StepChanged(clock.now(), "h1", CallStep.HOLD))
        await until(pilot, lambda: "客户保持中" in screen_text(app), "on hold shown")
        await pilot.press("f6")
        await until(pilot, lambda: ("resume", "h1") in flow.actions, "resume asked")
        flow.emit(StepChanged(clock.now(), "h1", CallStep.CONVERSATION))
        await until(pilot, lambda: "客户保持中" not in screen_text(app), "hold cleared")
        await pilot.press("f4")
        await until(pilot, lambda: ("transfer_to_gate_post", "h1") in flow.actions, "transfer")
        await until(
            pilot,
            lambda: any("门岗未接" in str(n.message) for n in app._notifications),
            "refusal reported",
        )
        assert screen_name(app) == "CallScreen"
        assert isinstance(app.screen, CallScreen) and app.screen.live


async def test_a_redraw_asked_while_the_app_shuts_down_is_skipped(build: Build) -> None:
    """Seen in CI: a line-status message handled during shutdown made the seat query a
    status bar that was already pruned (NoMatches raised out of `run_test`)."""
    app = build()
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        seat = app.screen
    from textual._context import active_app  # as during shutdown: the app is the active one

    token = active_app.set(app)
    try:
        assert not app.is_running and seat.ready  # torn down: its widgets are gone
        assert not seat.query("StatusBar")
        app.refresh_screens()  # neither raises NoMatches
        seat.redraw()  # type: ignore[attr-defined]
    finally:
        active_app.reset(token)
