"""The flow carries out what the domain decides: survey keys, ring count, outcome, the flow's
own table, the gate probe's timeout, the record's typed port."""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import console.callflow.flow as flow_module
from console.adapters import flow_settings
from console.callflow import CallFlow, CallRecords, CallStep
from console.callflow.events import (
    FollowUpOpened,
    StepChanged,
    SupervisorAlert,
    SurveyScored,
)
from console.callflow.steps import FLOW_TABLE, StepEvent
from console.config import ConfigError, loads
from console.domain.ring import RingLimit
from tests.callflow.conftest import _Violations
from tests.callflow.fakes import FakeCall
from tests.callflow.test_flow import FAST, Rig
from tests.test_config import MINIMAL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(replace(FAST, ring_limit_seconds=5.0, digit_timeout=0.5))
    yield r
    r.flow.stop()


def _to_survey(rig: Rig, call: FakeCall, gate: threading.Event | None = None) -> None:
    """An agent takes the call, talks, is done: the survey prompt starts."""
    assert rig.flow.take_call(call.call_id, "1024")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=call.call_id)
    call.playback_gate = gate
    rig.flow.finish_call(call.call_id)
    rig.log.wait_for(StepChanged, step=CallStep.SURVEY, call_id=call.call_id)


def _wait_played(call: FakeCall, name: str, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if name in call.played:
            return
        done.wait(0.01)
    raise AssertionError(f"{name} never played: {call.played}")


# ---------------------------------------------------------------- the survey


def test_star_then_two_during_the_prompt_is_rated_two(rig: Rig) -> None:
    """Seen on the line: `*` used the try and the `2` was thrown away → "no rating"."""
    call = rig.line.ring()
    session = rig.flow._session(call.call_id)
    assert session is not None
    gate = threading.Event()  # the survey prompt plays until the barge-in stops it
    _to_survey(rig, call, gate)
    _wait_played(call, "survey")
    call.press("*")
    call.press("2")
    rig.log.wait_for(SurveyScored, call_id=call.call_id, score=2)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.satisfaction == 2
    assert "survey_retry" not in call.played
    assert "stop_playback" in call.actions  # the key barged in
    assert session.survey is not None and session.survey.invalid_digits == ["*"]


def test_an_invalid_key_after_the_prompt_does_not_use_up_the_try(rig: Rig) -> None:
    call = rig.line.ring()
    _to_survey(rig, call)
    _wait_played(call, "survey")
    call.press("9")
    call.press("1")
    rig.log.wait_for(SurveyScored, call_id=call.call_id, score=1)
    call.caller_hangs_up()
    assert rig.records.wait_closed(call.call_id).satisfaction == 1
    assert "survey_retry" not in call.played


def test_silence_gets_the_retry_then_no_rating(rig: Rig) -> None:
    call = rig.line.ring()
    _to_survey(rig, call)
    rig.log.wait_for(SurveyScored, call_id=call.call_id, score=None)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.satisfaction is None
    assert call.played.count("survey") == 1 and call.played.count("survey_retry") == 1
    assert call.played[-1] == "thanks"


SWAPPED = MINIMAL + """\

[prompts]
survey_digits = "321"

[prompts.texts]
survey = "满意请按3,一般请按2,不满意请按1。"
survey_retry = "对不起,满意请按3,一般请按2,不满意请按1。"
"""


def test_survey_digits_from_the_config_change_what_the_line_records(tmp_path: Path) -> None:
    """A change of the domain's survey keys (through the config) changes the line."""
    cfg = loads(SWAPPED, "swapped.toml", tmp_path, environ={})
    assert cfg.prompts.survey_digits == "321"
    settings = flow_settings(cfg)
    assert settings.survey_digits == "321"
    timers = {k: getattr(FAST, k) for k in (
        "handover_timeout", "message_seconds", "hangup_timeout", "transfer_timeout", "busy_wait",
    )}
    rig = Rig(replace(settings, recording_dir="", digit_timeout=0.5, **timers))
    try:
        call = rig.line.ring()
        _to_survey(rig, call)
        call.press("1")  # with "321", 1 is dissatisfied
        alert = rig.log.wait_for(SupervisorAlert, call_id=call.call_id)
        assert "pressed 1" in alert.reason  # type: ignore[attr-defined]
        rig.log.wait_for(FollowUpOpened, call_id=call.call_id)
        call.caller_hangs_up()
        row = rig.records.wait_closed(call.call_id)
        assert row.satisfaction == 3
        assert any("dissatisfied" in f for f in row.follow_ups)
        call2 = rig.line.ring()
        _to_survey(rig, call2)
        call2.press("3")  # and 3 is satisfied
        rig.log.wait_for(SurveyScored, call_id=call2.call_id, score=1)
        call2.caller_hangs_up()
        assert rig.records.wait_closed(call2.call_id).satisfaction == 1
    finally:
        rig.flow.stop()


@pytest.mark.parametrize(
    ("prompts", "key", "problem"),
    [
        ('survey_digits = "12"', "prompts.survey_digits", "three different keys"),
        ('survey_digits = "113"', "prompts.survey_digits", "three different keys"),
        ("survey_digits = 123", "prompts.survey_digits", "three different keys"),
        ('survey_digits = "456"', "prompts.survey_digits", "give prompts.texts.survey"),
        (
            'survey_digits = "456"\n[prompts.texts]\nsurvey = "按4、5、6"\n'
            'survey_retry = "满意请按1"',
            "prompts.texts.survey_retry",
            "does not name key 4, 5, 6",
        ),
    ],
)
def test_bad_survey_digits_name_the_key(
    tmp_path: Path, prompts: str, key: str, problem: str
) -> None:
    text = SWAPPED.split("[prompts]")[0] + "[prompts]\n" + prompts + "\n"
    with pytest.raises(ConfigError) as info:
        loads(text, "bad.toml", tmp_path, environ={})
    assert info.value.key == key and problem in info.value.problem


def test_the_example_names_survey_digits() -> None:
    example = (ROOT / "console.toml.example").read_text(encoding="utf-8")
    assert '\nsurvey_digits = "123"\n' in example.split("\n[prompts]\n")[1].split("\n[")[0]


# ---------------------------------------------------------------- ring count


def test_the_flow_counts_rings_with_the_domain(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[float, bool]] = []

    def count(self: RingLimit, elapsed: float, *, at_limit: bool = False) -> int:
        seen.append((elapsed, at_limit))
        return 7

    monkeypatch.setattr(RingLimit, "ring_count", count)
    call = rig.line.ring()
    assert rig.flow.take_call(call.call_id, "1024")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=call.call_id)
    call.caller_hangs_up()
    row = rig.records.wait_closed(call.call_id)
    assert row.rings == 7 and seen and seen[0][1] is False  # an agent's answer: not capped


def test_the_auto_answer_at_the_limit_is_the_last_ring() -> None:
    rig = Rig(replace(FAST, ring_limit_seconds=0.3, ring_cadence=0.1))
    try:
        call = rig.line.ring()
        rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=call.call_id)
        call.caller_hangs_up()
        row = rig.records.wait_closed(call.call_id)
        assert row.answered_by == "auto" and row.rings == 3
        assert rig.flow.ring_limit == RingLimit(3, 0.1)
    finally:
        rig.flow.stop()


# ---------------------------------------------------------------- the flow's table


def test_the_flow_table_prints_and_covers_every_step() -> None:
    text = FLOW_TABLE.describe()
    assert text.startswith("call flow:") and text.count("-->") == len(FLOW_TABLE.rows)
    reached = {target for _, _, target in FLOW_TABLE} | {CallStep.RINGING}
    assert reached == set(CallStep)
    for step in CallStep:
        if step is not CallStep.DONE:
            assert FLOW_TABLE.next(step, StepEvent.END) is CallStep.DONE


def test_a_session_moves_through_the_table(rig: Rig) -> None:
    call = rig.line.ring()
    session = rig.flow._session(call.call_id)
    assert session is not None
    _to_survey(rig, call)
    call.press("1")
    rig.log.wait_for(StepChanged, step=CallStep.WAIT_HANGUP, call_id=call.call_id)
    call.caller_hangs_up()
    rig.records.wait_closed(call.call_id)
    assert session.join(5.0)
    moves = [(s.source, s.event, s.target) for s in session.steps]
    assert [m[2] for m in moves] == [
        CallStep.GREETING, CallStep.CONVERSATION, CallStep.SURVEY, CallStep.THANKS,
        CallStep.WAIT_HANGUP, CallStep.DONE,
    ]
    assert all(FLOW_TABLE.next(src, ev) is dst for src, ev, dst in moves)


def test_a_move_outside_the_table_is_flagged_and_the_call_goes_on(
    rig: Rig, flow_moves_follow_the_table: _Violations
) -> None:
    call = rig.line.ring()
    session = rig.flow._session(call.call_id)
    assert session is not None
    session._go(StepEvent.AWAIT_HANGUP)  # from RINGING: a bug the table catches
    assert session.step is CallStep.WAIT_HANGUP
    assert flow_moves_follow_the_table.found
    assert "AWAIT_HANGUP in RINGING" in flow_moves_follow_the_table.found[0]
    flow_moves_follow_the_table.found.clear()
    call.caller_hangs_up()
    rig.records.wait_closed(call.call_id)
    flow_moves_follow_the_table.found.clear()  # what the bug led to next is not this test's


def test_python_m_console_callflow_prints_the_table() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "console.callflow"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("call flow:") and "WAIT_HANGUP" in out.stdout


# ---------------------------------------------------------------- gate probe, typed port


def test_the_gate_probe_uses_the_configured_timeout(tmp_path: Path) -> None:
    text = SWAPPED.replace('uri = "sip:8001@127.0.0.1"',
                           'uri = "sip:8001@127.0.0.1"\nprobe_timeout_seconds = 0.7')
    settings = flow_settings(loads(text, "p.toml", tmp_path, environ={}))
    assert settings.probe_timeout == 0.7
    rig = Rig(replace(FAST, probe_timeout=0.7))
    try:
        assert rig.flow.probe_gate() is True
        assert rig.line.probe_timeouts == [0.7]
    finally:
        rig.flow.stop()


def _calls_on_records(tree: ast.AST) -> tuple[set[str], list[int]]:
    """Methods called on `….records` in the flow, and lines that reach it with getattr."""
    methods: set[str] = set()
    dynamic: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "getattr" and node.args:
                target = ast.unparse(node.args[0])
                if target.endswith("records"):
                    dynamic.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value).endswith("records")
        ):
            methods.add(node.func.attr)
    return methods, dynamic


def test_the_flow_writes_the_record_only_through_typed_port_methods() -> None:
    """No `getattr(records, "name")`: every write is a `CallRecords` method mypy checks."""
    tree = ast.parse((ROOT / "console" / "callflow" / "flow.py").read_text(encoding="utf-8"))
    methods, dynamic = _calls_on_records(tree)
    assert dynamic == [], f"getattr on the record at lines {dynamic}"
    port = {n for n in vars(CallRecords) if not n.startswith("_")}
    assert methods and methods <= port, methods - port
    assert flow_module.CallFlow is CallFlow
