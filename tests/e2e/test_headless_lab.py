"""The headless console end to end against the loopback lab (Kamailio, SIPp, baresip).

Each test assembles the console as `duty-console run --headless` does, with the wall clock
injected (`ShiftedClock`: 10:00 on a Monday is staffed, 22:00 is night), a 2 × 0.5 s ring
limit and short prompts, places real SIP calls and reads the duty record afterwards. Every
call is bounded by SIPp's own timeout; every process is stopped by the lab, by pid.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import labctl
import pytest

from console.callflow.events import (
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    GatePostAlarm,
    StepChanged,
    SurveyScored,
)
from console.store import CallOutcome
from tests.e2e.helpers import (
    E2E_SIPP,
    at,
    decode_stream,
    ensure_digit_pcap,
    greeting_correlation,
    running_console,
    wait_until,
)
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
MONDAY_22 = at("2026-03-02 22:00")
MAKEUP_SATURDAY_19 = at("2026-02-28 19:00")
"""A 调休 Saturday worked as a Monday: the evening roster (17:30-21:00) is on."""
PLAIN_SATURDAY_19 = at("2026-03-07 19:00")
"""An ordinary Saturday at 19:00: after the weekend roster, so night."""


@pytest.fixture
def config(lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    return write_console_toml(tmp_path / "seat", lab.proxy_port, prompt_cache=cache)


def test_staffed_nobody_answers_auto_answer_greeting_heard_survey_1(
    lab: labctl.Lab, config: Path
) -> None:
    ensure_digit_pcap(lab, "1")
    with running_console(config, MONDAY_10) as console:
        with lab.capture() as cap:
            run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
            result = run.wait(timeout=45)
        assert result.ok, result.describe()
        record = console.sealed_call()
        greeting = console.headless.parts["prompts"].greeting_for("")
    answered = console.of(CallAnswered)[0]
    assert answered.answered_by == "auto"
    assert 1.0 <= answered.seconds_to_answer < 1.6  # 2 rings × 0.5 s
    assert record.answered_by == "auto"
    assert record.rings == 2
    assert record.satisfaction == 1
    assert record.outcome is CallOutcome.ANSWERED
    assert record.follow_up and "message" in record.follow_up
    heard = decode_stream(cap.packets, run.media_port)
    assert len(heard) > len(greeting.pcm16), "the caller heard less audio than the greeting"
    assert greeting_correlation(greeting.pcm16, heard) > 0.9


def test_survey_without_a_digit_is_no_rating(lab: labctl.Lab, config: Path) -> None:
    with running_console(config, MONDAY_10) as console:
        result = lab.sipp(E2E_SIPP / "uac_silent_until_bye.xml", timeout=40)
        assert result.ok, result.describe()
        record = console.sealed_call()
    assert console.wait_for(SurveyScored).score is None
    assert record.satisfaction is None and "survey: no rating" in (record.action or "")
    # 处理结果 is the call's (a message, if the line took one), never the survey's (issue 11)
    assert record.result in (None, "message")
    assert record.end_reason == "local_hangup"  # after the caller's grace period


def test_caller_hangs_up_at_ring_2_is_abandoned(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, cadence=1.0,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_10) as console:
        result = lab.sipp("uac_cancel", duration_ms=1500, timeout=15)  # ring 2 of 2 × 1 s
        assert result.ok, result.describe()
        record = console.sealed_call()
    assert not console.of(CallAnswered)
    assert record.outcome is CallOutcome.ABANDONED
    assert record.answered_by is None and record.step == CallStep.RINGING.value


def test_two_calls_at_once_are_both_recorded(lab: labctl.Lab, config: Path) -> None:
    ensure_digit_pcap(lab, "1")
    with running_console(config, MONDAY_10) as console:
        runs = [lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=45)
                for _ in range(2)]
        results = [run.wait(timeout=50) for run in runs]
        for result in results:
            assert result.ok, result.describe()
        # Both SIPp runs can end (on our BYE) before the second call is sealed: wait for both.
        wait_until("two calls finished and sealed",
                   lambda: len(console.of(CallFinished)) == 2
                   and sum(r.outcome is not None for r in console.calls()) == 2, 30)
        finished = console.of(CallFinished)
        records = [r for r in console.calls() if r.outcome is not None]
    assert len(finished) == 2 and len(records) == 2
    assert {r.answered_by for r in records} == {"auto"}
    assert sorted(r.satisfaction or 0 for r in records) == [1, 1]
    assert any("mode: waiting" in (r.notes or "") for r in records)  # the second one held


@pytest.mark.parametrize(
    ("start", "mode", "scenario"),
    [(MAKEUP_SATURDAY_19, "staffed", "uac_cancel"), (PLAIN_SATURDAY_19, "night", "uac_follow_302")],
)
def test_makeup_saturday_is_a_working_day(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    start: datetime, mode: str, scenario: str,
) -> None:
    """调休 Saturday 19:00 rings the seat (evening roster); a plain Saturday 19:00 forwards."""
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, cadence=1.0, method="302",
                                gate_uri=f"sip:200@127.0.0.1:{lab.proxy_port}",
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, start) as console:
        result = lab.sipp(scenario, duration_ms=1200, timeout=15)
        assert result.ok, result.describe()
        record = console.sealed_call()
    lab.gate.hangup_all()
    assert console.of(CallArrived)[0].mode.value == mode
    assert f"mode: {mode}" in (record.notes or "")
    expected = CallOutcome.ABANDONED if mode == "staffed" else CallOutcome.FORWARDED
    assert record.outcome is expected


def test_night_refer_the_gate_post_answers(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gate = f"sip:200@127.0.0.1:{lab.proxy_port}"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, gate_uri=gate,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    caller = lab.start_caller("300")
    try:
        with running_console(config, MONDAY_22) as console:
            since = len(lab.gate.events)
            caller.dial(lab.uri("100"))
            lab.gate.wait_event("CALL_ESTABLISHED", timeout=20, since=since)
            record = console.sealed_call(timeout=20)
        assert record.outcome is CallOutcome.FORWARDED
        assert record.forwarded_to == gate and record.forward_method == "refer"
        assert record.forward_result == "success" and record.answered_by == "auto"
        assert record.step == CallStep.FORWARDING.value
    finally:
        caller.hangup_all()
        lab.gate.hangup_all()
        lab.stop_ua("300")


def test_night_302_the_gate_post_answers(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gate = f"sip:200@127.0.0.1:{lab.proxy_port}"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, gate_uri=gate, method="302",
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_22) as console:
        since = len(lab.gate.events)
        result = lab.sipp("uac_follow_302", timeout=20)
        assert result.ok, result.describe()
        lab.gate.wait_event("CALL_ESTABLISHED", timeout=5, since=since)
        record = console.sealed_call()
    lab.gate.hangup_all()
    assert record.outcome is CallOutcome.FORWARDED
    assert record.forward_method == "redirect" and record.forward_result == "redirected"
    assert record.answered_by is None  # a 302 answers nothing


def test_night_gate_post_down_alarm_fallback_caller_kept(
    lab_factory: object, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    variant = lab_factory(gate=False)  # type: ignore[operator]
    gate = f"sip:200@127.0.0.1:{variant.proxy_port}"
    config = write_console_toml(tmp_path / "seat", variant.proxy_port, gate_uri=gate,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_22) as console:
        alarm = console.wait_for(GatePostAlarm, timeout=10)
        result = variant.sipp(E2E_SIPP / "uac_silent_until_bye.xml", timeout=40)
        assert result.ok, result.describe()  # answered, and ended by us: never dropped
        record = console.sealed_call()
        audit = [e for e in console.headless.store.audit_log() if e.action.startswith("alarm:")]
    assert alarm.target == gate
    assert any(e.action == "alarm:gate_post_unreachable" for e in audit)
    assert record.answered_by == "auto" and record.outcome is CallOutcome.ANSWERED
    assert record.forward_result and record.forward_result.startswith("skipped")
    assert record.follow_up and "message" in record.follow_up
    assert "message taken" in (record.action or "")
    steps = [e.step for e in console.of(StepChanged)]
    assert CallStep.FALLBACK in steps and CallStep.MESSAGE in steps


def test_sigterm_mid_call_seals_the_record_and_exits_0(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`duty-console run --headless` as a process: SIGTERM during the greeting → exit 0."""
    import os
    import signal
    import subprocess
    import sys
    from zoneinfo import ZoneInfo

    from console.store import DutyRecord

    config = write_console_toml(tmp_path / "seat", lab.proxy_port,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    log_path = tmp_path / "console.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "run", "--headless", "--config", str(config),
             "--clock-start", MONDAY_10.isoformat()],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        def logged(text: str) -> bool:
            return text in log_path.read_text("utf-8", "replace")

        wait_until("registration", lambda: logged("waiting for calls"), 20)
        run = lab.sipp_start(E2E_SIPP / "uac_silent_until_bye.xml", timeout=30)
        wait_until("the greeting", lambda: logged("step=GREETING"), 15)
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=20)
        result = run.wait(timeout=35)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    text = log_path.read_text("utf-8", "replace")
    assert code == 0, text[-2000:]
    assert "Traceback" not in text
    assert result.ok, result.describe()  # the caller got our BYE, not silence
    with DutyRecord(f"sqlite:///{tmp_path / 'seat' / 'duty.db'}",
                    tz=ZoneInfo("Asia/Shanghai")) as record:
        calls = record.calls()
    assert len(calls) == 1  # the process is gone: this is the file it left
    assert calls[0].outcome is CallOutcome.INTERRUPTED
    assert calls[0].end_reason == "shutdown" and calls[0].answered_by == "auto"
    assert calls[0].step in (CallStep.GREETING.value, CallStep.HOLD.value)
