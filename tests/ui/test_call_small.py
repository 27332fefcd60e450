"""Smaller points of issue 11 (point 11) on the agent's screens, each seen by a new user."""

from __future__ import annotations

from console.callflow.events import CallAnswered
from tests.ui.conftest import START
from tests.ui.helpers import answer_call, login, screen_name, screen_text, until


async def test_the_call_screen_shows_a_call_timer(build, flow, clock) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c1", "13800138000", START)
        flow.emit(CallAnswered(clock.now(), "c1", "1024", 1, 2.0))
        await until(pilot, lambda: "通话时长 00:00" in screen_text(app), "timer at the answer")
        clock.advance(65)
        await until(pilot, lambda: "通话时长 01:05" in screen_text(app), "timer counting")


async def test_enter_after_the_reason_switches_night_mode(build, night, clock) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
        await pilot.press(*"leak", "enter")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "dialog closed")
        decision = night.decide(clock.now())
        assert decision.night and decision.override is not None
        assert decision.override.reason == "leak" and decision.override.agent_id == "1024"
