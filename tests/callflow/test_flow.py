"""The headless call flow against a fake line: every path ends in a complete record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

import console.callflow.flow as flow_module
from console.callflow import CallFlow, CallStep, FlowError, FlowSettings, ForwardTarget, Mode
from console.callflow.events import (
    CallAnswered,
    CallFinished,
    GatePostAlarm,
    SeatRinging,
    StepChanged,
    SupervisorAlert,
    SurveyScored,
)
from sip.api import CallEnded, CallState, EndReason, Prompt, RequestRefused, TransferOutcome
from tests.callflow.fakes import (
    EventLog,
    FakeCall,
    FakeLine,
    FixedStaffing,
    MemoryRecords,
    TinyPrompts,
)

GATE = "sip:200@127.0.0.1"
SECOND = "sip:201@127.0.0.1"

FAST = FlowSettings(
    ring_limit_seconds=0.2,
    ring_cadence=0.1,
    handover_timeout=0.3,
    message_seconds=0.05,
    digit_timeout=0.2,
    hangup_timeout=0.2,
    transfer_timeout=0.2,
    busy_wait=0.3,
    gate_chain=(ForwardTarget(GATE, "refer", attempts=2), ForwardTarget(SECOND, "refer")),
)


class Rig:
    def __init__(self, settings: FlowSettings = FAST, staffed: bool = True) -> None:
        self.records = MemoryRecords()
        self.staffing = FixedStaffing(staffed)
        self.line = FakeLine()
        self.log = EventLog()
        self.flow = CallFlow(
            self.records, self.staffing, TinyPrompts(), settings, line=self.line  # type: ignore[arg-type]
        )
        self.line.sink = self.flow.on_line_event
        self.flow.bus.subscribe(self.log)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.flow.stop()


def test_ring_writes_the_record_row_at_once(rig: Rig) -> None:
    call = rig.line.ring("13912345678")
    # Before the session thread has done anything, the row exists.
    assert rig.records.rows[call.call_id].caller == "13912345678"
    assert rig.records.rows[call.call_id].mode is Mode.STAFFED
    call.caller_hangs_up()
    rig.records.wait_closed(call.call_id)


def test_nobody_answers_auto_answer_then_survey_1(rig: Rig) -> None:
    call = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call.call_id)
    # Nobody takes it: message, follow-up, thanks; caller hangs up.
    row = rig.records.wait_closed(call.call_id)
    assert row.answered_by == "auto"
    assert row.rings is not None and row.rings >= 2
    assert call.played[:3] == ["greeting_auto", "hold", "fallback"]
    assert row.message_seconds is not None
    assert row.follow_ups and "message" in row.follow_ups[0]
    assert row.end_reason == "local_hangup"  # caller never hung up: we did after the timeout
    assert call.actions[-1] == "hangup"


def test_agent_answers_before_ring_limit_and_caller_rates(rig: Rig) -> None:
    rig2 = Rig(replace(FAST, ring_limit_seconds=5.0))
    try:
        call = rig2.line.ring()
        rig2.log.wait_for(SeatRinging, call_id=call.call_id)
        assert rig2.flow.take_call(call.call_id, "1024")
        rig2.log.wait_for(StepChanged, step=CallStep.CONVERSATION)
        assert call.played == ["greeting:1024"]
        assert rig2.flow.finish_call(call.call_id)
        rig2.log.wait_for(StepChanged, step=CallStep.SURVEY)
        call.press("1")
        rig2.log.wait_for(SurveyScored, score=1)
        rig2.log.wait_for(StepChanged, step=CallStep.WAIT_HANGUP)
        call.caller_hangs_up()
        row = rig2.records.wait_closed(call.call_id)
        assert row.answered_by == "1024" and row.rings == 1
        assert row.satisfaction == 1
        assert row.end_reason == "remote_bye" and row.ended_step is CallStep.WAIT_HANGUP
        assert "hangup" not in call.actions  # the caller hung up first
    finally:
        rig2.flow.stop()


def test_agent_takes_over_after_auto_answer(rig: Rig) -> None:
    call = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call.call_id)
    assert rig.flow.take_call(call.call_id, "2048")
    assert not rig.flow.take_call(call.call_id, "4096")  # the first agent who takes it
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION)
    rig.flow.finish_call(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY)
    call.press("3")
    rig.log.wait_for(SupervisorAlert, call_id=call.call_id)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.answered_by == "auto" and row.handed_to == "2048"
    assert row.satisfaction == 3
    assert any("dissatisfied" in f for f in row.follow_ups)
    assert rig.records.alarms and rig.records.alarms[0][0] == "dissatisfied"


@pytest.mark.parametrize(("digits", "score"), [((), None), (("9", "2"), 2), (("#", "*"), None)])
def test_survey_retries_once_then_no_rating(
    rig: Rig, digits: tuple[str, ...], score: int | None
) -> None:
    call = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD)
    rig.flow.take_call(call.call_id, "1024")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION)
    rig.flow.finish_call(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY)
    for i, digit in enumerate(digits):
        if i:
            rig.log.wait_for(StepChanged, step=CallStep.SURVEY)  # already there
            while "survey_retry" not in call.played:
                threading.Event().wait(0.01)
        call.press(digit)
    row = rig.records.wait_closed(call.call_id)
    assert row.satisfaction == score
    assert call.played.count("survey") == 1
    assert call.played.count("survey_retry") <= 1


def test_caller_hangs_up_at_ring_2_is_abandoned() -> None:
    rig = Rig(replace(FAST, ring_limit_seconds=5.0))
    try:
        call = rig.line.ring()
        rig.log.wait_for(SeatRinging)
        call.caller_hangs_up()
        row = rig.records.wait_closed(call.call_id)
        assert row.end_reason == "abandoned" and row.ended_step is CallStep.RINGING
        assert row.answered_by is None and "answer" not in call.actions
    finally:
        rig.flow.stop()


def test_a_caller_who_hangs_up_at_7_s_is_recorded_with_two_rings() -> None:
    """Issue 10, point 9: an abandoned call kept `rings` empty; the rules want the rings
    (and seconds rung) of every call, counted by the domain's `RingLimit`."""
    rig = Rig(replace(FAST, ring_limit_seconds=15.0, ring_cadence=5.0))
    try:
        call = rig.line.ring()
        call._started -= 7.0  # it has been ringing for 7 s
        rig.log.wait_for(SeatRinging)
        call.caller_hangs_up()
        row = rig.records.wait_closed(call.call_id)
        assert row.end_reason == "abandoned" and row.answered_by is None
        assert row.rings == rig.flow.ring_limit.ring_count(7.0) == 2
        assert row.rang_seconds is not None and 7.0 <= row.rang_seconds < 8.0
    finally:
        rig.flow.stop()


def test_caller_hangs_up_mid_greeting_and_mid_survey(rig: Rig) -> None:
    call = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.ended_step is CallStep.HOLD and row.end_reason == "remote_bye"
    call2 = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call2.call_id)
    rig.flow.take_call(call2.call_id, "1024")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=call2.call_id)
    rig.flow.finish_call(call2.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY, call_id=call2.call_id)
    call2.caller_hangs_up()
    row2 = rig.records.wait_closed(call2.call_id)
    # The domain's survey: a caller gone before rating is "no rating", and the record says so.
    assert row2.ended_step is CallStep.SURVEY and row2.satisfaction is None


def test_night_forwards_to_gate_post_with_refer() -> None:
    rig = Rig(staffed=False)
    try:
        call = rig.line.ring()
        row = rig.records.wait_closed(call.call_id)
        assert row.mode is Mode.NIGHT
        assert call.played == ["after_hours"]
        assert row.forwards == [(GATE, "refer", "success")]
        assert row.end_reason == "transferred"
    finally:
        rig.flow.stop()


def test_night_redirect_302_when_configured() -> None:
    rig = Rig(replace(FAST, gate_chain=(ForwardTarget(GATE, "redirect"),)), staffed=False)
    try:
        call = rig.line.ring()
        row = rig.records.wait_closed(call.call_id)
        assert call.actions == [f"redirect {GATE}"]
        assert row.forwards == [(GATE, "redirect", "redirected")]
        assert row.end_reason == "redirected" and row.answered_by is None
    finally:
        rig.flow.stop()


def test_gate_post_busy_runs_the_fallback_chain_without_loop() -> None:
    rig = Rig(staffed=False)
    try:
        call_holder = {}

        def ring() -> None:
            call_holder["c"] = rig.line.ring()

        # Outcomes are set before the session thread reaches transfer: ring with them preset.
        orig_sink = rig.line.sink

        def sink(event: object) -> None:
            from sip.api import CallRinging

            if isinstance(event, CallRinging):
                event.call.transfer_outcomes = [  # type: ignore[attr-defined]
                    TransferOutcome.FAILURE, TransferOutcome.TIMEOUT, TransferOutcome.FAILURE,
                ]
            orig_sink(event)  # type: ignore[arg-type]

        rig.line.sink = sink
        ring()
        call = call_holder["c"]
        row = rig.records.wait_closed(call.call_id)
        assert row.forwards == [
            (GATE, "refer", "failure"), (GATE, "refer", "timeout"), (SECOND, "refer", "failure"),
        ]
        assert call.played[:2] == ["after_hours", "fallback"]
        assert row.message_seconds is not None and row.follow_ups
        assert row.end_reason == "local_hangup"  # not dropped: message, thanks, then hang-up
    finally:
        rig.flow.stop()


def test_gate_post_down_alarm_then_fallback_message() -> None:
    rig = Rig(staffed=False)
    try:
        rig.line.gate_up = False
        assert rig.flow.probe_gate() is False
        rig.log.wait_for(GatePostAlarm, target=GATE)
        assert rig.records.alarms[0][0] == "gate_post_unreachable"
        call = rig.line.ring()
        row = rig.records.wait_closed(call.call_id)
        assert row.forwards[0][2].startswith("skipped")
        assert row.answered_by == "auto" and row.follow_ups
        assert "fallback" in call.played
    finally:
        rig.flow.stop()


def test_watch_probes_at_start(rig: Rig) -> None:
    rig.flow.start(tick=0.05)
    rig.log.wait_for(GatePostAlarm.__mro__[1], timeout=2.0)  # any flow event
    assert rig.line.probes and rig.line.probes[0] == GATE


def test_second_call_while_busy_is_held_and_recorded(rig: Rig) -> None:
    first = rig.line.ring()
    rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=first.call_id)
    rig.flow.take_call(first.call_id, "1024")
    second = rig.line.ring()
    assert rig.records.rows[second.call_id].mode is Mode.WAITING
    rig.log.wait_for(StepChanged, step=CallStep.WAITING, call_id=second.call_id)
    assert second.played == ["busy"]
    assert rig.flow.take_call(second.call_id, "2048")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=second.call_id)
    for c in (first, second):
        c.caller_hangs_up()
    assert rig.records.wait_closed(second.call_id).handed_to == "2048"
    assert rig.records.wait_closed(first.call_id).handed_to == "1024"


def test_a_call_arriving_during_a_callback_waits_as_a_second_call_does(rig: Rig) -> None:
    """A callback (回访) holds the seat: the caller is not rung through to a busy agent, the
    console holds them with the busy prompt and an agent can take them once free."""
    rig.flow.outgoing_started()
    call = rig.line.ring()
    assert rig.records.rows[call.call_id].mode is Mode.WAITING
    rig.log.wait_for(StepChanged, step=CallStep.WAITING, call_id=call.call_id)
    assert call.played == ["busy"]
    rig.flow.outgoing_ended()
    later = rig.line.ring()  # the callback is over: the next call rings the seat
    assert rig.records.rows[later.call_id].mode is Mode.STAFFED
    assert rig.flow.take_call(call.call_id, "1024")
    for c in (call, later):
        c.caller_hangs_up()
    assert rig.records.wait_closed(call.call_id).handed_to == "1024"
    rig.records.wait_closed(later.call_id)


def test_busy_forward_policy_forwards_second_call() -> None:
    rig = Rig(replace(FAST, busy_policy="forward", ring_limit_seconds=5.0))
    try:
        first = rig.line.ring()
        rig.log.wait_for(SeatRinging)
        second = rig.line.ring()
        row = rig.records.wait_closed(second.call_id)
        assert row.mode is Mode.WAITING and row.forwards[0] == (GATE, "refer", "success")
        first.caller_hangs_up()
        rig.records.wait_closed(first.call_id)
    finally:
        rig.flow.stop()


def test_digits_never_change_the_forward_target() -> None:
    rig = Rig(staffed=False)
    try:
        call = rig.line.ring()
        for d in "*72#999":
            call.press(d)
        row = rig.records.wait_closed(call.call_id)
        assert all(target in (GATE, SECOND) for target, _, _ in row.forwards)
        assert all(a.split()[1] in (GATE, SECOND) for a in call.actions if " " in a)
    finally:
        rig.flow.stop()


def test_burst_each_call_answered_or_refused_with_a_record(rig: Rig) -> None:
    calls = [rig.line.ring(f"1390000{i:04d}") for i in range(6)]
    for i in range(3):  # the line itself refused 3 over its capacity
        rig.flow.on_line_event(
            RequestRefused("127.0.0.1:5060", "INVITE", 486, "Busy Here", f"x{i}", f"1391{i}")
        )
    for c in calls:
        c.caller_hangs_up()
    for c in calls:
        row = rig.records.wait_closed(c.call_id)
        assert row.end_reason
    assert len(rig.records.refused) == 3
    assert all("486" in reason for _, reason in rig.records.refused)


def test_stop_seals_every_open_call_with_its_step() -> None:
    rig = Rig(replace(FAST, ring_limit_seconds=30.0))
    call = rig.line.ring()
    rig.log.wait_for(SeatRinging)
    rig.flow.stop()
    row = rig.records.wait_closed(call.call_id)
    assert row.end_reason == "shutdown" and row.ended_step is CallStep.RINGING
    rig.log.wait_for(CallFinished, call_id=call.call_id)


def test_events_reach_subscribers_and_a_bad_subscriber_is_survived(rig: Rig) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("UI bug")

    rig.flow.bus.subscribe(broken)
    call = rig.line.ring()
    rig.log.wait_for(CallAnswered, call_id=call.call_id, answered_by="auto")
    call.caller_hangs_up()
    assert rig.records.wait_closed(call.call_id).end_reason == "remote_bye"


def test_store_failure_never_drops_the_call(rig: Rig) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("database is locked")

    rig.records.call_step = boom  # type: ignore[method-assign]
    call = rig.line.ring()
    rig.log.wait_for(CallAnswered, call_id=call.call_id)
    call.caller_hangs_up()
    assert rig.records.wait_closed(call.call_id).answered_by == "auto"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ring_limit_seconds": 0}, "ring_limit_seconds"),
        ({"digit_timeout": -1}, "digit_timeout"),
        ({"busy_policy": "drop"}, "busy_policy"),
        ({"ring_limit_seconds": 0.25}, "not a whole number of 0.1 s rings"),
        ({"survey_digits": "12"}, "survey_digits"),
        ({"probe_timeout": 0}, "probe_timeout"),
        ({"gate_chain": (ForwardTarget("tel:110"),)}, "not a sip: URI"),
        ({"gate_chain": (ForwardTarget(GATE, "email"),)}, "method"),
        ({"gate_chain": (ForwardTarget(GATE, attempts=0),)}, "attempts"),
    ],
)
def test_bad_settings_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(FlowError, match=message):
        replace(FAST, **change).validate()  # type: ignore[arg-type]


def test_take_call_needs_an_agent_id(rig: Rig) -> None:
    with pytest.raises(ValueError, match="agent_id"):
        rig.flow.take_call("call-1", "")
    assert rig.flow.take_call("no-such-call", "1024") is False
    assert rig.flow.finish_call("no-such-call") is False


def _bye_crossing_the_prompt(rig: Rig, call: FakeCall, deliver_after: float | None) -> None:
    """The line ends the call as the flow starts a prompt; its event arrives a bit later."""
    real_play = call.play

    def crossed(prompt: Prompt) -> None:
        with call.lock:
            call._state = CallState.ENDED
        if deliver_after is not None:
            event = CallEnded(call, EndReason.REMOTE_BYE)  # type: ignore[arg-type]
            threading.Timer(deliver_after, rig.flow.on_line_event, (event,)).start()
        real_play(prompt)  # refused: the call has ended

    call.play = crossed  # type: ignore[method-assign]


def test_a_bye_crossing_a_prompt_is_recorded_as_the_caller_hanging_up(rig: Rig) -> None:
    """Seen in CI: the BYE landed between the flow's check and `play` → "error: play needs…"."""
    call = rig.line.ring()
    _bye_crossing_the_prompt(rig, call, deliver_after=0.2)
    row = rig.records.wait_closed(call.call_id)
    assert row.end_reason == "remote_bye"
    assert row.ended_step is CallStep.GREETING


def test_a_refused_prompt_without_an_end_event_is_still_an_error(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow_module, "_ENDED_GRACE", 0.1)
    call = rig.line.ring()
    _bye_crossing_the_prompt(rig, call, deliver_after=None)
    row = rig.records.wait_closed(call.call_id)
    assert row.end_reason.startswith("error: ") and "play in ended" in row.end_reason


def test_an_untrusted_invite_goes_to_the_security_log_not_the_calls(rig: Rig) -> None:
    """Issue 10, point 8: a scanner's INVITE (refused 403 by the line) was written as a missed
    call, so a sweep of the line pushed the answer rate down with calls that never existed;
    then an audit alarm that counted one per report, not the requests. Now every kind of
    refused non-call goes to the security log with how many requests it stands for."""
    rig.flow.on_line_event(RequestRefused("198.51.100.7", "INVITE", 403, "source not trusted",
                                          "scan1", "100", trusted_source=False, count=7))
    rig.flow.on_line_event(RequestRefused("198.51.100.7", "OPTIONS", 403, "source not trusted",
                                          "scan2", "100", trusted_source=False))
    rig.flow.on_line_event(RequestRefused("127.0.0.1", "?", 0, "unparsable datagram", count=2,
                                          malformed=True))
    rig.flow.on_line_event(RequestRefused("127.0.0.1", "INVITE", 488, "bad SDP", "c1", "139"))
    assert rig.records.refused == [("139", "488 bad SDP")]  # a real caller's call, refused
    assert rig.records.alarms == []
    assert rig.records.security == [
        ("untrusted_invite", "198.51.100.7", "INVITE", 7, "source not trusted"),
        ("untrusted_request", "198.51.100.7", "OPTIONS", 1, "source not trusted"),
        ("malformed", "127.0.0.1", "?", 2, "unparsable datagram"),
    ]
