"""What the agent does to a call they took: hold, take back, transfer to the gate post, hang up.

Bad inputs tried: an unknown Call-ID, a call nobody has taken, resume without hold, hold twice,
an action after the call ended, a transfer the gate post refuses, no gate post configured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from console.callflow import CallStep, FlowSettings
from console.callflow.events import SeatRinging, StepChanged, SurveyScored
from sip.api import TransferOutcome
from tests.callflow.fakes import FakeCall
from tests.callflow.test_flow import FAST, GATE, Rig

SLOW_RING = replace(FAST, ring_limit_seconds=5.0)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(SLOW_RING)
    yield r
    r.flow.stop()


def _taken(rig: Rig, agent: str = "1024") -> FakeCall:
    call = rig.line.ring()
    rig.log.wait_for(SeatRinging, call_id=call.call_id)
    assert rig.flow.take_call(call.call_id, agent)
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=call.call_id)
    return call


def test_hold_plays_the_hold_prompt_and_resume_stops_it(rig: Rig) -> None:
    call = _taken(rig)
    assert rig.flow.hold(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call.call_id)
    assert call.played[-1] == "hold"
    assert rig.flow.hold(call.call_id)  # twice: still on hold, the prompt not restarted
    assert call.played.count("hold") == 1
    assert rig.flow.resume(call.call_id)
    assert "stop_playback" in call.actions
    assert not rig.flow.resume(call.call_id)  # not on hold any more
    # The agent finishes as usual: survey, caller rates, hangs up.
    assert rig.flow.finish_call(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY, call_id=call.call_id)
    call.press("2")
    rig.log.wait_for(SurveyScored, score=2)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.agent_actions == ["put on hold by 1024", "taken back from hold by 1024"]
    assert row.steps.count(CallStep.HOLD) == 1 and row.satisfaction == 2


def test_hold_prompt_repeats_while_the_caller_waits() -> None:
    rig = Rig(SLOW_RING)
    try:
        call = _taken(rig)
        assert rig.flow.hold(call.call_id)
        # TinyPrompts' hold prompt is short: the flow plays it again when it runs out.
        end = time.monotonic() + 3.0
        while call.played.count("hold") < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert call.played.count("hold") >= 2
        call.caller_hangs_up()  # the caller gives up on hold: a complete record
        row = rig.records.wait_closed(call.call_id)
        assert row.ended_step is CallStep.HOLD and row.end_reason == "remote_bye"
    finally:
        rig.flow.stop()


def test_transfer_to_the_gate_post_ends_the_call_as_forwarded(rig: Rig) -> None:
    call = _taken(rig)
    assert rig.flow.transfer_to_gate_post(call.call_id)
    assert call.actions[-1] == f"transfer {GATE} success"
    row = rig.records.wait_closed(call.call_id)
    assert row.forwards == [(GATE, "refer", "success")]
    assert row.end_reason == "transferred"
    assert row.agent_actions == ["transfer to the gate post by 1024: success"]


def test_refused_transfer_keeps_the_call_with_the_agent(rig: Rig) -> None:
    call = _taken(rig)
    call.transfer_outcomes = [TransferOutcome.FAILURE]
    assert not rig.flow.transfer_to_gate_post(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=call.call_id)
    assert call.state.value == "answered"
    # Still the agent's call: the survey and the normal end follow.
    assert rig.flow.finish_call(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY, call_id=call.call_id)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.forwards == [(GATE, "refer", "failure")]
    assert row.answered_by == "1024" and row.end_reason == "remote_bye"


def test_transfer_without_a_gate_post_is_refused_and_recorded() -> None:
    rig = Rig(replace(SLOW_RING, gate_chain=()))
    try:
        call = _taken(rig)
        assert not rig.flow.transfer_to_gate_post(call.call_id)
        assert not any(a.startswith("transfer") for a in call.actions)
        call.caller_hangs_up()
        row = rig.records.wait_closed(call.call_id)
        assert row.agent_actions == ["transfer by 1024 refused: no gate post configured"]
    finally:
        rig.flow.stop()


def test_agent_hang_up_runs_the_survey_then_ends_without_waiting() -> None:
    settings: FlowSettings = replace(SLOW_RING, hangup_timeout=30.0)
    rig2 = Rig(settings)
    try:
        call = _taken(rig2)
        assert rig2.flow.hang_up(call.call_id)
        rig2.log.wait_for(StepChanged, step=CallStep.SURVEY, call_id=call.call_id)
        call.press("1")
        # No 30 s wait for the caller: the agent asked to end it.
        row = rig2.records.wait_closed(call.call_id, timeout=5.0)
        assert row.satisfaction == 1
        assert row.end_reason == "local_hangup" and call.actions[-1] == "hangup"
        assert row.agent_actions == ["hung up by 1024"]
    finally:
        rig2.flow.stop()


def test_actions_on_calls_that_are_not_the_agents_are_refused(rig: Rig) -> None:
    assert not rig.flow.hold("no-such-call")
    assert not rig.flow.resume("no-such-call")
    assert not rig.flow.transfer_to_gate_post("no-such-call")
    assert not rig.flow.hang_up("no-such-call")
    call = rig.line.ring()
    rig.log.wait_for(SeatRinging, call_id=call.call_id)
    # Ringing, nobody has taken it: nothing to hold, transfer or hang up.
    assert not rig.flow.hold(call.call_id)
    assert not rig.flow.transfer_to_gate_post(call.call_id)
    assert not rig.flow.hang_up(call.call_id)
    assert not any(a.startswith(("transfer", "hangup")) for a in call.actions)
    call.caller_hangs_up()
    rig.records.wait_closed(call.call_id)
    # After the end: refused, nothing raised.
    assert not rig.flow.hold(call.call_id)
    assert not rig.flow.hang_up(call.call_id)


def test_caller_hanging_up_while_a_transfer_waits_answers_the_agent(rig: Rig) -> None:
    call = _taken(rig)
    assert rig.flow.hold(call.call_id)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.end_reason == "remote_bye"
    assert not rig.flow.transfer_to_gate_post(call.call_id)  # returns at once: call gone


def test_greeting_said_by_the_agent_is_not_played_but_auto_answer_still_plays_it() -> None:
    """`[seat] greeting = "say"`: the agent greets in person; the console's own answer at the
    ring limit still plays the greeting (nobody else would say it)."""
    rig = Rig(replace(SLOW_RING, agent_greeting_by_tts=False))
    try:
        call = _taken(rig)
        assert call.played == []
        call.caller_hangs_up()
        rig.records.wait_closed(call.call_id)
    finally:
        rig.flow.stop()
    auto = Rig(replace(FAST, agent_greeting_by_tts=False))
    try:
        call = auto.line.ring()
        auto.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call.call_id)
        assert call.played[:2] == ["greeting_auto", "hold"]
        call.caller_hangs_up()
        auto.records.wait_closed(call.call_id)
    finally:
        auto.flow.stop()
