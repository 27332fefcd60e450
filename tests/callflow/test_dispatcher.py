"""Every call on one dispatcher thread: no thread per call, a failing script ends only its
own call, a blocking line call (REFER) holds up no other call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from console.callflow import CallStep
from console.callflow.dispatcher import Blocking, BlockingPool, Dispatcher, Script, Wait
from console.callflow.events import SeatRinging, StepChanged
from sip.api import Prompt, TransferOutcome
from tests.callflow.fakes import FakeCall, TinyPrompts
from tests.callflow.test_flow import FAST, Rig


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(replace(FAST, ring_limit_seconds=30.0))
    yield r
    r.flow.stop()


def _flow_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate())


def test_twenty_concurrent_calls_cost_a_handful_of_threads() -> None:
    """Before: one `threading.Thread` per call (20 calls, 20 more threads)."""
    rig = Rig(replace(FAST, ring_limit_seconds=30.0, busy_wait=30.0, max_waiting=30))
    try:
        _twenty_calls(rig)
    finally:
        rig.flow.stop()


def _twenty_calls(rig: Rig) -> None:
    before = threading.active_count()
    calls = [rig.line.ring(f"1390000{i:04d}") for i in range(20)]
    rig.log.wait_for(SeatRinging, call_id=calls[0].call_id)
    for call in calls[1:]:  # the seat is busy: the others wait with the busy prompt
        rig.log.wait_for(StepChanged, step=CallStep.WAITING, call_id=call.call_id)
    assert rig.flow.take_call(calls[0].call_id, "1024")
    rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=calls[0].call_id)
    assert len(rig.flow.active()) == 20
    grown = threading.active_count() - before
    assert grown <= 3, f"{grown} threads more for 20 calls: {_flow_threads()}"
    for call in calls:
        call.caller_hangs_up()
    for call in calls:
        rig.records.wait_closed(call.call_id)
    assert rig.flow.active() == {}


class _BlockingTransfer(FakeCall):
    """A REFER whose NOTIFY takes as long as the test says (`release`)."""

    release = threading.Event()

    def transfer(self, target_uri: str, timeout: float = 15.0) -> TransferOutcome:
        self.release.wait(5.0)
        return super().transfer(target_uri, timeout)


def test_a_blocking_transfer_holds_up_no_other_call(rig: Rig) -> None:
    rig.flow.staffing.staffed = False  # type: ignore[attr-defined]  # night: REFER at once
    slow = _BlockingTransfer(rig.flow.on_line_event, "slow")
    _BlockingTransfer.release.clear()
    from sip.api import CallRinging

    rig.flow.on_line_event(CallRinging(slow))
    rig.log.wait_for(StepChanged, step=CallStep.FORWARDING, call_id="slow")
    rig.flow.staffing.staffed = True  # type: ignore[attr-defined]
    other = rig.line.ring()
    rig.log.wait_for(SeatRinging, call_id=other.call_id)
    other.caller_hangs_up()  # served while the REFER of the first call still waits
    row = rig.records.wait_closed(other.call_id, timeout=2.0)
    assert row.end_reason == "abandoned"
    _BlockingTransfer.release.set()
    assert rig.records.wait_closed("slow").end_reason == "transferred"


class _BrokenHold(TinyPrompts):
    def get(self, name: str) -> Prompt:
        if name == "hold":
            raise RuntimeError("prompt book broken")
        return super().get(name)


def test_a_script_that_fails_ends_its_call_cleanly_and_the_next_call_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig(replace(FAST, ring_limit_seconds=0.1))
    rig.flow.prompts = _BrokenHold()
    try:
        with caplog.at_level(logging.ERROR, "console.callflow"):
            call = rig.line.ring()
            row = rig.records.wait_closed(call.call_id)
        assert row.end_reason == "error"
        assert "hangup" in call.actions  # the caller is not left on a dead line
        failures = [r for r in caplog.records if r.exc_info is not None]
        assert len(failures) == 1 and "prompt book broken" in str(failures[0].exc_info)
        rig.flow.prompts = TinyPrompts()
        second = rig.line.ring()
        rig.log.wait_for(StepChanged, step=CallStep.HOLD, call_id=second.call_id)
        second.caller_hangs_up()
        assert rig.records.wait_closed(second.call_id).end_reason == "remote_bye"
    finally:
        rig.flow.stop()


def test_the_dispatcher_survives_a_script_that_raises_past_its_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = Dispatcher(name="test-dispatcher")
    crashed: list[BaseException] = []
    results: list[object] = []
    done = threading.Event()

    def bad() -> Script:
        yield Wait(lambda: False, 0.01)
        raise ValueError("bug in a script")

    def good() -> Script:
        got = yield Wait(lambda: False, 0.02)
        results.append(got)
        results.append((yield Blocking(lambda: 42)))
        try:
            yield Blocking(lambda: 1 / 0)
        except ZeroDivisionError:
            results.append("thrown in")
        done.set()

    try:
        with caplog.at_level(logging.ERROR, "console.callflow"):
            dispatcher.task("bad", bad(), crashed.append).start()
            dispatcher.task("good", good(), crashed.append).start()
            assert done.wait(2.0)
        assert results == [False, 42, "thrown in"]
        assert len(crashed) == 1 and isinstance(crashed[0], ValueError)
        assert sum(1 for r in caplog.records if "bad" in r.getMessage()) == 1
        deadline = time.monotonic() + 1.0
        while dispatcher.tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dispatcher.tasks == 0
    finally:
        dispatcher.stop()


def test_a_wake_resumes_a_waiting_script_at_once() -> None:
    dispatcher = Dispatcher(name="test-dispatcher")
    flag = threading.Event()
    woke = threading.Event()

    def script() -> Script:
        got = yield Wait(flag.is_set, 30.0)
        if got:
            woke.set()

    try:
        task = dispatcher.task("waiter", script(), lambda exc: None)
        task.start()
        time.sleep(0.05)
        t0 = time.monotonic()
        flag.set()
        task.wake()
        assert woke.wait(1.0) and time.monotonic() - t0 < 0.5
    finally:
        dispatcher.stop()


def test_the_blocking_pool_runs_in_parallel_and_its_threads_end_when_idle() -> None:
    pool = BlockingPool("test-pool", workers=3, idle=0.2)
    gate = threading.Event()
    results: list[object] = []
    finished = threading.Semaphore(0)

    def done(result: object, error: BaseException | None) -> None:
        results.append(error if error is not None else result)
        finished.release()

    def named() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("test-pool")]

    for i in range(5):
        pool.submit(lambda i=i: gate.wait(2.0) and i, done)  # type: ignore[misc]
    time.sleep(0.1)
    assert len(named()) == 3  # no more than `workers`, the rest wait their turn
    gate.set()
    for _ in range(5):
        assert finished.acquire(timeout=2.0)
    assert sorted(results) == [0, 1, 2, 3, 4]  # type: ignore[type-var]
    pool.submit(lambda: 1 / 0, done)
    assert finished.acquire(timeout=2.0) and isinstance(results[-1], ZeroDivisionError)
    deadline = time.monotonic() + 2.0
    while named() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert named() == []  # a line at rest keeps no pool thread
