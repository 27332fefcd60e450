"""The flow's ports over the real parts: the duty record (SQLite), the schedule, the config."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.adapters import ScheduleStaffing, StoreCallRecords, flow_settings
from console.callflow import CallFlow, CallStep, FlowError, Mode
from console.config import load
from console.domain.night import NightMode
from console.store import CallOutcome, DutyRecord
from tests.callflow.fakes import FakeLine, FixedStaffing, TinyPrompts
from tests.callflow.test_flow import FAST
from tests.e2e.labconfig import write_console_toml

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DutyRecord]:
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=TZ)
    yield record
    record.close()


def test_every_flow_fact_lands_in_the_record(store: DutyRecord) -> None:
    records = StoreCallRecords(store)
    records.call_rang("c1", "13900000001", T0, Mode.NIGHT)
    records.call_answered("c1", T0 + timedelta(seconds=1), "auto", 1, 1.0)
    records.call_step("c1", CallStep.FORWARDING, T0)
    records.forward_attempt("c1", "sip:200@127.0.0.1", "refer", "busy", T0)
    records.forward_attempt("c1", "sip:201@127.0.0.1", "refer", "no_answer", T0)
    records.message_taken("c1", 12.4, None)
    records.follow_up("c1", "call back 13900000001 (message)", T0)
    records.satisfaction("c1", None)
    records.call_ended("c1", T0 + timedelta(seconds=40), CallStep.WAIT_HANGUP, "remote_bye")
    (call,) = store.calls()
    assert call.caller_number == "13900000001" and call.sip_call_id == "c1"
    assert call.answered_by == "auto" and call.rings == 1
    assert call.outcome is CallOutcome.ANSWERED  # answered by us, not forwarded
    assert call.forwarded_to == "sip:201@127.0.0.1" and call.forward_result == "no_answer"
    assert call.action is not None
    assert "forward 1" in call.action and "busy" in call.action and "forward 2" in call.action
    assert "message taken (12 s)" in call.action
    assert call.follow_up and "call back" in call.follow_up
    assert call.satisfaction is None and call.result == "survey: no rating"
    assert call.step == "wait_hangup" and call.end_reason == "remote_bye"
    assert call.notes == "mode: night"
    assert records.open_keys() == {}


@pytest.mark.parametrize(
    ("reason", "answered", "forward", "outcome"),
    [
        ("abandoned", False, None, CallOutcome.ABANDONED),
        ("cancelled", False, None, CallOutcome.ABANDONED),
        ("transferred", True, "success", CallOutcome.FORWARDED),
        ("redirected", False, "redirected", CallOutcome.FORWARDED),
        ("shutdown", True, None, CallOutcome.INTERRUPTED),
        ("error", False, None, CallOutcome.MISSED),
    ],
)
def test_outcome_from_how_the_call_ended(
    store: DutyRecord, reason: str, answered: bool, forward: str | None, outcome: CallOutcome
) -> None:
    records = StoreCallRecords(store)
    records.call_rang("c", "1", T0, Mode.STAFFED)
    if answered:
        records.call_answered("c", T0, "auto", 3, 15.0)
    if forward:
        records.forward_attempt("c", "sip:200@127.0.0.1", "refer", forward, T0)
    records.call_ended("c", T0 + timedelta(seconds=5), CallStep.RINGING, reason)
    assert store.calls()[0].outcome is outcome


def test_refused_calls_and_alarms_are_recorded(store: DutyRecord) -> None:
    records = StoreCallRecords(store)
    records.call_refused("r1", "13900000002", T0, "486 Busy Here")
    records.alarm("gate_post_unreachable", "sip:200@127.0.0.1: no answer", T0)
    (call,) = store.calls()
    assert call.outcome is CallOutcome.MISSED and call.end_reason == "refused"
    assert call.result == "refused: 486 Busy Here"
    assert any(e.action == "alarm:gate_post_unreachable" for e in store.audit_log())


def test_facts_for_an_unknown_call_are_dropped_not_raised(store: DutyRecord) -> None:
    records = StoreCallRecords(store)
    records.call_step("nope", CallStep.GREETING, T0)
    records.satisfaction("nope", 1)
    records.call_ended("nope", T0, CallStep.DONE, "remote_bye")
    assert store.calls() == []


def test_seal_open_at_shutdown(store: DutyRecord) -> None:
    records = StoreCallRecords(store)
    records.call_rang("c1", "1", T0, Mode.STAFFED)
    records.call_rang("c2", "2", T0, Mode.WAITING)
    assert records.seal_open() == 2
    assert {c.outcome for c in store.calls()} == {CallOutcome.INTERRUPTED}
    assert records.seal_open() == 0


def test_flow_over_the_store_writes_a_sealed_row(store: DutyRecord) -> None:
    line = FakeLine()
    flow = CallFlow(StoreCallRecords(store), FixedStaffing(True), TinyPrompts(), FAST,  # type: ignore[arg-type]
                    line=line)  # type: ignore[arg-type]
    line.sink = flow.on_line_event
    try:
        call = line.ring("13900000003")
        assert store.calls()[0].caller_number == "13900000003"  # written at the ring
        call.caller_hangs_up()
        for _ in range(100):
            if store.calls()[0].outcome is not None:
                break
            time.sleep(0.05)
        assert store.calls()[0].outcome is CallOutcome.ABANDONED
    finally:
        flow.stop()


@pytest.mark.parametrize(
    ("when", "staffed"),
    [
        ("2026-03-02 10:00", True),  # Monday, day shift
        ("2026-03-02 22:00", False),  # Monday night
        ("2026-02-28 19:00", True),  # 调休 Saturday: evening roster
        ("2026-03-07 19:00", False),  # ordinary Saturday after the weekend roster
        ("2026-10-01 10:00", False),  # 国庆 holiday, on_holiday = night
    ],
)
def test_schedule_staffing(tmp_path: Path, when: str, staffed: bool) -> None:
    cfg = load(write_console_toml(tmp_path, 5060))
    staffing = ScheduleStaffing(NightMode(cfg.schedule()))
    assert staffing.is_staffed(datetime.fromisoformat(when).replace(tzinfo=TZ)) is staffed


def test_flow_settings_carry_take_message_and_max_waiting(tmp_path: Path) -> None:
    cfg = load(write_console_toml(tmp_path, 5060, take_message=False, retries=2))
    settings = flow_settings(cfg)
    assert settings.take_message is False and settings.max_waiting == 100
    assert settings.gate_chain[0].attempts == 3
    assert settings.ring_limit_seconds == 1.0 and settings.ring_cadence == 0.5
    with pytest.raises(FlowError, match="max_waiting"):
        flow_settings(cfg, max_waiting=-1).validate()
