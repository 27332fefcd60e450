"""The seat's state is one plain-Python model the app holds (issue 11, "What to build": a
seat model with the agent's state, the calls, the notes, the line's and the gate post's
status; no Textual). Before, the agent, the line's and the headset's status and the notes
were members of the Textual App beside the model, which held only the calls and the gate
post's and the record's health."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable

from textual.widgets import Input

from console.app import DutyConsoleApp
from console.callflow.events import CallArrived, CallFinished, CallStep, GatePostChecked, Mode
from console.domain.agent import Agent, AgentState
from console.headset import HeadsetState, HeadsetStatus
from console.ui.messages import LineStatusPosted
from console.ui.model import SeatModel
from console.ui.notes import CallNotes
from sip.api import LineStatus
from tests.ui.conftest import START
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import answer_call, screen_text, until

Build = Callable[..., DutyConsoleApp]


def test_the_seat_model_needs_no_textual_and_no_database() -> None:
    code = ("import sys, console.ui.model; "
            "print(sorted(m for m in ('textual', 'sqlalchemy', 'sounddevice', 'console.store') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_call_walked_through_the_model_alone() -> None:
    """What a seat knows during a call, without an App: the agent's state, the call, the
    line, the headset, the gate post and the notes, and nothing kept once the notes are in."""
    model = SeatModel()
    assert (model.agent, model.line_status, model.headset_status.state) == (
        None, LineStatus.STOPPED, HeadsetState.NO_HEADSET)
    model.agent = Agent("1024")
    model.agent.login(START)
    model.line_status = LineStatus.REGISTERED
    model.headset_status = HeadsetStatus(HeadsetState.READY)
    model.apply(GatePostChecked(START, "sip:200@127.0.0.1", True))
    call = model.apply(CallArrived(START, "c1", "13800138000", Mode.STAFFED))
    assert call is not None and call.takeable
    model.agent.call_started(START)
    model.notes_edited("c1", CallNotes(caller_name="王"), 3)
    assert (model.agent.state, model.gate_ok, model.typed) == (AgentState.ON_CALL, True, {"c1": 3})
    model.apply(CallFinished(START + dt.timedelta(minutes=2), "c1", CallStep.CONVERSATION,
                             "caller_hangup", "1024"))
    model.agent.call_ended(START + dt.timedelta(minutes=2))
    model.forget_notes("c1")
    assert (model.agent.state, model.notes, model.typed) == (AgentState.AFTER_CALL_WORK, {}, {})


async def test_the_app_keeps_the_seats_state_in_its_model(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c1", "13800138000", clock.now())
        model = app.model
        assert model.agent is app.agent and model.agent is not None
        assert model.agent.state is AgentState.ON_CALL
        app.screen.query_one("#caller_name", Input).value = "Li"
        await until(pilot, lambda: "c1" in model.typed, "the notes in the model")
        assert model.notes["c1"].caller_name == "Li"
        app.post_message(LineStatusPosted(LineStatus.FAILED, "403 Forbidden"))
        await until(pilot, lambda: model.line_status is LineStatus.FAILED, "line in the model")
        assert model.line_reason == "403 Forbidden"
        app.screen.dismiss()
        await until(pilot, lambda: "403 Forbidden" in screen_text(app), "the seat shows it")
