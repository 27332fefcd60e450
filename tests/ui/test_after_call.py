"""After-call work: F10 finishes only notes that can close the call (issue 11, point 11).

Before, F10 accepted a record without a category (duty rules §3 step 4: every call is
classified): the call screen closed, the agent was ready again and the record had none.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.widgets import Input, Select

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.domain.agent import AgentState as SeatState
from console.domain.labels import Language
from console.screens.call import CallScreen
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import answer_call, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


async def _after_call(pilot, app: DutyConsoleApp, flow: FakeFlow, clock: FakeClock) -> CallScreen:
    await answer_call(pilot, flow, "c1", "13800138000", clock.now())
    screen = app.screen
    assert isinstance(screen, CallScreen)
    flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
    await until(pilot, lambda: not screen.live, "after-call work")
    return screen


async def test_f10_without_a_category_is_refused_and_focuses_the_category(
    build: Build, flow: FakeFlow, clock: FakeClock, store
) -> None:
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        screen = await _after_call(pilot, app, flow, clock)
        screen.query_one("#caller_name", Input).focus()
        screen.query_one("#follow_up_due", Input).value = "2026-03-03 10:00"
        await pilot.press("f10")
        await until(pilot, lambda: "请先选择来电分类" in screen_text(app), "the refusal")
        assert screen_name(app) == "CallScreen"
        assert app.focused is screen.query_one("#category", Select)
        assert app.agent is not None and app.agent.state is SeatState.AFTER_CALL_WORK
        assert store.follow_ups(owner="1024") == []  # nothing done with the notes
        refusal = [n.message for n in app._notifications if "分类" in n.message]
        assert len(refusal) == 1 and "\n" not in refusal[0]
        # With a category the same F10 finishes: the follow-up, ready, the seat.
        screen.query_one("#category", Select).value = "repair"
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "back to the seat")
        assert app.agent.state is SeatState.READY
        await until(pilot, lambda: len(store.follow_ups(owner="1024")) == 1, "follow-up")


async def test_the_refusal_is_in_english_on_an_english_seat(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        screen = await _after_call(pilot, app, flow, clock)
        await pilot.press("f10")
        await until(pilot, lambda: any("category" in n.message for n in app._notifications),
                    "the refusal")
        for note in app._notifications:
            assert not CJK.search(f"{note.title} {note.message}"), note
        assert screen_name(app) == "CallScreen"
        assert app.focused is screen.query_one("#category", Select)


async def test_a_bad_due_time_is_refused_in_the_seats_language_on_its_field(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        screen = await _after_call(pilot, app, flow, clock)
        screen.query_one("#category", Select).value = "consultation"
        screen.query_one("#follow_up_due", Input).value = "tomorrow"
        await pilot.press("f10")
        await until(pilot, lambda: "“tomorrow”格式应为" in screen_text(app), "the refusal")
        assert "expected" not in screen_text(app)
        assert app.focused is screen.query_one("#follow_up_due", Input)
        assert screen_name(app) == "CallScreen"
