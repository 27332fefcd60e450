"""The TUI over the one composition root: shared record adapter and night mode, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from console.adapters import StoreCallRecords
from console.callflow.events import CallStep, Mode
from console.cli import main
from console.store import CallOutcome, DutyRecord

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def record(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=dt.UTC)
    yield store
    store.close()


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_answered_call_with_survey_is_sealed_answered(record: DutyRecord) -> None:
    rec = StoreCallRecords(record)
    rec.call_rang("c1", "13800000001", _at(0), Mode.STAFFED)
    rec.call_answered("c1", _at(6), "1024", 2, 6.0)
    rec.call_step("c1", CallStep.CONVERSATION, _at(7))
    rec.satisfaction("c1", 1)
    rec.follow_up("c1", "call back tomorrow", _at(60), "1024", _at(86400))
    rec.call_ended("c1", _at(90), CallStep.WAIT_HANGUP, "caller_hangup")
    (call,) = record.calls()
    assert call.outcome is CallOutcome.ANSWERED and call.sealed
    assert (call.answered_by, call.rings, call.satisfaction) == ("1024", 2, 1)
    assert call.step == "wait_hangup"
    assert call.follow_up == "2026-03-02 10:01 call back tomorrow (1024, due 2026-03-03 10:00)"


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([("end", "abandoned")], CallOutcome.ABANDONED),
        ([("forward", "success"), ("end", "transferred")], CallOutcome.FORWARDED),
        ([("forward", "failure"), ("end", "caller_hangup")], CallOutcome.MISSED),
    ],
)
def test_unanswered_outcomes(record: DutyRecord, events, outcome) -> None:  # type: ignore[no-untyped-def]
    rec = StoreCallRecords(record)
    rec.call_rang("c2", "139", _at(0), Mode.NIGHT)
    for kind, value in events:
        if kind == "forward":
            rec.forward_attempt("c2", "sip:200@127.0.0.1", "refer", value, _at(5))
        else:
            rec.call_ended("c2", _at(10), CallStep.FORWARDING, value)
    (call,) = record.calls()
    assert call.outcome is outcome


def test_refused_call_is_a_missed_record_and_alarms_are_audited(record: DutyRecord) -> None:
    rec = StoreCallRecords(record)
    rec.call_refused("c3", "137", _at(0), "486 Busy Here")
    rec.alarm("gate_post_unreachable", "no answer to OPTIONS", _at(1))
    (call,) = record.calls()
    assert call.outcome is CallOutcome.MISSED and call.end_reason == "refused"
    assert call.result == "refused: 486 Busy Here"
    assert any(a.action == "alarm:gate_post_unreachable" for a in record.audit_log())


def test_events_for_an_unknown_call_are_ignored(record: DutyRecord) -> None:
    rec = StoreCallRecords(record)
    rec.call_step("nobody", CallStep.CONVERSATION, _at(0))
    rec.call_ended("nobody", _at(1), CallStep.DONE, "caller_hangup")
    assert record.calls() == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "Configuration"),  # the file does not exist
        ("centre = 'X'\n[line]\nregistrar = 'not-an-ip'\n", "Configuration"),
        ("this is not toml", "Configuration"),
    ],
)
def test_bad_config_is_one_titled_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str | None, expected: str
) -> None:
    path = tmp_path / "console.toml"
    if config is not None:
        path.write_text(config, encoding="utf-8")
    assert main(["--config", str(path), "--log-file", str(tmp_path / "ui.log")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(expected) and "Traceback" not in err


def test_the_app_and_the_flow_share_one_night_mode(tmp_path: Path) -> None:
    """An override set on screen routes the next call: one `NightMode` behind both."""
    from zoneinfo import ZoneInfo

    from console.callflow import ShiftedClock
    from console.domain.night import OverrideKind
    from console.ui.assemble import build_console
    from tests.e2e.labconfig import write_console_toml

    path = write_console_toml(tmp_path, 5060)
    clock = ShiftedClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    app, headless = build_console(path, clock=clock)
    try:
        assert app.night is headless.parts["night"]
        assert app.store is headless.store and app.clock is clock
        assert headless.flow.staffing.is_staffed(clock.now()) is True  # Monday 10:00
        app.night.set_override(OverrideKind.EARLY_NIGHT, "storm", "1024", clock.now())
        assert headless.flow.staffing.is_staffed(clock.now()) is False  # the flow obeys it
        assert app.on_line_event in headless.parts["sinks"]
    finally:
        headless.store.close()
