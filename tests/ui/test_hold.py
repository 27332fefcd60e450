"""F6 (hold) stays on the call screen wherever the flow serves it (issue 11, point 11).

Seen: F6 disappeared from the footer after the greeting, while the call was up. The agent
had moved on to type the call's content: the notes' TextArea binds F6 itself (select line,
not shown), so the footer lost the key and F6 selected a line instead of holding the caller.
"""

from __future__ import annotations

from textual.widgets import TextArea

from console.app import DutyConsoleApp
from console.callflow import FlowSettings
from console.callflow.events import CallStep
from console.callflow.flow import _AGENT_STEPS
from console.ui.model import AGENT_ACTION_STEPS
from tests.ui.helpers import login, screen_name, screen_text, until
from tests.ui.test_with_flow import wired  # noqa: F401  (the fixture, over the real flow)


def _footer_keys(app: DutyConsoleApp) -> dict[str, str]:
    """Key → action of the footer's shown keys on the screen in front."""
    return {key: b.binding.action for key, b in app.screen.active_bindings.items()
            if b.binding.show and b.enabled}


async def test_f6_holds_while_the_agent_types_the_content(wired) -> None:  # noqa: F811
    app, flow, caller, _records = wired(FlowSettings(ring_limit_seconds=60))
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13800138000")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "on call")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.CONVERSATION,
                    "the greeting played")
        content = app.screen.query_one("#content", TextArea)
        content.focus()
        await pilot.press(*"lift broken")
        await until(pilot, lambda: content.text == "lift broken", "content typed")
        assert _footer_keys(app).get("f6") == "hold"
        assert "f6 保持" in screen_text(app)
        await pilot.press("f6")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.HOLD, "on hold")
        await until(pilot, lambda: "客户保持中" in screen_text(app), "hold on the head")
        assert content.text == "lift broken" and content.selected_text == ""
        await pilot.press("f6")  # F6 again takes the caller back, from the same field
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.CONVERSATION,
                    "taken back")
        assert _footer_keys(app).get("f6") == "hold"


async def test_hold_is_dimmed_in_the_survey_where_the_flow_refuses_it(wired) -> None:  # noqa: F811
    app, flow, caller, _records = wired(FlowSettings(ring_limit_seconds=60, digit_timeout=30))
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        call = caller.ring("13800138001")
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        await pilot.press("enter")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.CONVERSATION)
        await pilot.press("f3")
        await until(pilot, lambda: flow.active().get(call.call_id) is CallStep.SURVEY)
        await until(pilot, lambda: not app.screen.active_bindings["f6"].enabled, "dimmed")
        assert app.screen.active_bindings["f6"].binding.action == "hold"


def test_the_seat_knows_the_steps_the_flow_serves_agent_actions_in() -> None:
    assert AGENT_ACTION_STEPS == _AGENT_STEPS | {CallStep.RINGING}
