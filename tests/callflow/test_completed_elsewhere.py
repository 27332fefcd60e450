"""A seat's leg that another seat answered is no abandoned call, and no call of the figures.

Issue 13: the PBX rang every seat of the hotline and cancelled the others when one answered,
with `Reason: SIP;cause=200;text="Call completed elsewhere"`; each cancelled seat recorded an
abandoned call ("caller hung up while ringing"), so the answer rate (接通率) and the abandoned
count were wrong for any team. The flow now carries the line's end reason to the domain,
which calls it `TAKEN_ELSEWHERE`; the figures and exports count callers, not legs.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.adapters import StoreCallRecords
from console.callflow import CallFlow, CallStep, Mode
from console.domain.labels import CALL_OUTCOME_LABELS
from console.domain.outcome import CALLBACK_OUTCOMES, CallEnd, CallOutcome, classify
from console.store import DutyRecord
from console.store.export import export_calls
from sip.api import CallEnded, CallRinging, CallState, CallStateError, EndReason
from tests.callflow.fakes import FakeCall, FakeLine, FixedStaffing, TinyPrompts
from tests.callflow.test_flow import FAST

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DutyRecord]:
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=TZ)
    yield record
    record.close()


def test_the_domain_keeps_a_leg_apart_from_an_abandoned_call() -> None:
    assert classify(CallEnd.COMPLETED_ELSEWHERE, answered=False) is CallOutcome.TAKEN_ELSEWHERE
    assert classify("completed_elsewhere", answered=False) is CallOutcome.TAKEN_ELSEWHERE
    assert CallEnd.COMPLETED_ELSEWHERE.for_call(answered=False) is CallEnd.COMPLETED_ELSEWHERE
    assert classify(CallEnd.CANCELLED, answered=False) is CallOutcome.ABANDONED
    assert not CallOutcome.TAKEN_ELSEWHERE.counts_as_caller
    # every outcome of an incoming call counts but a leg's; a callback's (回访) does not either
    assert all(o.counts_as_caller for o in CallOutcome
               if o is not CallOutcome.TAKEN_ELSEWHERE and o not in CALLBACK_OUTCOMES)
    assert set(CALL_OUTCOME_LABELS) == set(CallOutcome)  # both languages for every outcome
    zh, en = CALL_OUTCOME_LABELS[CallOutcome.TAKEN_ELSEWHERE]
    assert (zh, en) == ("他席接听", "Answered at another seat")


def _sealed(store: DutyRecord, n: int) -> list[CallOutcome | None]:
    for _ in range(200):
        outcomes = [c.outcome for c in store.calls()]
        if len(outcomes) == n and None not in outcomes:
            return outcomes
        time.sleep(0.025)
    raise AssertionError(f"calls not sealed: {store.calls()}")


def test_a_cancel_completed_elsewhere_is_recorded_and_counted_as_no_call(
    store: DutyRecord, tmp_path: Path
) -> None:
    records = StoreCallRecords(store, seat="seat-2")
    line = FakeLine()
    flow = CallFlow(records, FixedStaffing(True), TinyPrompts(), FAST,  # type: ignore[arg-type]
                    line=line)  # type: ignore[arg-type]
    line.sink = flow.on_line_event
    try:
        leg = line.ring("13900000001")
        leg.completed_elsewhere()  # another seat answered: the PBX cancelled this branch
        assert _sealed(store, 1) == [CallOutcome.TAKEN_ELSEWHERE]
        gave_up = line.ring("13900000002")
        gave_up.caller_hangs_up()  # a caller who did hang up while it rang
        _sealed(store, 2)
    finally:
        flow.stop()
    # A third caller was answered at this seat (written as the flow writes it).
    at = datetime.now(TZ)
    records.call_rang("c3", "13900000003", at, Mode.STAFFED)
    records.call_answered("c3", at + timedelta(seconds=2), "1024", 1, 2.0)
    records.call_ended("c3", at + timedelta(seconds=60), CallStep.SURVEY, "remote_bye")

    by_number = {c.caller_number: c for c in store.calls()}
    taken = by_number["13900000001"]
    assert taken.outcome is CallOutcome.TAKEN_ELSEWHERE
    assert taken.end_reason == "completed_elsewhere" and taken.seat == "seat-2"
    assert by_number["13900000002"].outcome is CallOutcome.ABANDONED

    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    kpis = store.kpis(day, day + timedelta(days=1))
    assert (kpis.total, kpis.answered, kpis.abandoned) == (2, 1, 1)  # callers, not legs
    assert kpis.answer_rate == 0.5
    assert sum(kpis.calls_per_hour.values()) == 2
    done = export_calls(store, day, day + timedelta(days=1), tmp_path / "day.csv", "1024")
    assert done.rows == 2 == done.kpis.total
    with (tmp_path / "day.csv").open(encoding="utf-8-sig") as fh:
        text = fh.read()
    assert "13900000001" not in text and "13900000002" in text and "13900000003" in text
    assert list(csv.reader(text.splitlines()))  # a readable CSV
    assert store.verify().ok


class CrossedCall(FakeCall):
    """Another seat's 200 and this seat's answer at the ring limit cross: the line ended the
    call on the PBX's CANCEL, and its `CallEnded` (queued, as the line's events are) reaches
    the flow only after the answer failed."""

    def answer(self, at: float | None = None) -> None:
        with self.lock:
            self._state = CallState.ENDED
        late = threading.Timer(0.2, self.sink, (CallEnded(self, EndReason.COMPLETED_ELSEWHERE),))
        late.start()
        self.late = late
        raise CallStateError("cannot answer: ended", ended_by=EndReason.COMPLETED_ELSEWHERE)


def test_an_answer_crossed_by_the_cancel_is_still_taken_elsewhere(store: DutyRecord) -> None:
    records = StoreCallRecords(store, seat="seat-3")
    line = FakeLine()
    flow = CallFlow(records, FixedStaffing(True), TinyPrompts(), FAST,  # type: ignore[arg-type]
                    line=line)  # type: ignore[arg-type]
    line.sink = flow.on_line_event
    call = CrossedCall(line.sink, "crossed-1", "13900000009")
    try:
        line.sink(CallRinging(call))  # nobody at the keys: the flow answers at the ring limit
        assert _sealed(store, 1) == [CallOutcome.TAKEN_ELSEWHERE]
    finally:
        flow.stop()
        call.late.join(2)
    assert store.calls()[0].end_reason == "completed_elsewhere"
