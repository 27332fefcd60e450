"""Headless lifecycle: start the line, serve, stop on SIGTERM, seal open records, exit 0."""

from __future__ import annotations

import os
import signal
import threading

from console.callflow import CallFlow, CallStep
from console.cli import main
from console.runner import Headless, install_signals
from sip.api import LineStatus
from tests.callflow.fakes import FakeLine, FixedStaffing, MemoryRecords, TinyPrompts
from tests.callflow.test_flow import FAST


class LifecycleLine(FakeLine):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self._status = LineStatus.STOPPED

    @property
    def status(self) -> LineStatus:
        return self._status

    def start(self, timeout: float = 10.0) -> None:
        self.log.append("start")
        self._status = LineStatus.REGISTERED

    def stop(self) -> None:
        self.log.append("stop")
        self._status = LineStatus.STOPPED

    def calls(self) -> list:  # type: ignore[type-arg]
        return []


def test_sigterm_stops_cleanly_and_seals() -> None:
    records = MemoryRecords()
    line = LifecycleLine()
    flow = CallFlow(records, FixedStaffing(True), TinyPrompts(), FAST, line=line)  # type: ignore[arg-type]
    line.sink = flow.on_line_event
    sealed: list[int] = []
    headless = Headless(line, flow, seal_open=lambda: sealed.append(1) or 1)  # type: ignore[arg-type, func-returns-value]
    ready = threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    install_signals(headless)
    try:
        result: list[int] = []
        worker = threading.Thread(target=lambda: result.append(headless.run(ready.set)))
        worker.start()
        assert ready.wait(5)
        call = line.ring()
        os.kill(os.getpid(), signal.SIGTERM)
        worker.join(10)
        assert result == [0]
        assert line.log == ["start", "stop"]
        assert sealed == [1]
        row = records.wait_closed(call.call_id)
        assert row.end_reason == "shutdown" and row.ended_step in (CallStep.RINGING,
                                                                   CallStep.GREETING,
                                                                   CallStep.HOLD)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_run_command_is_registered_and_says_what_is_missing(capsys: object) -> None:
    assert main(["run", "--headless", "--config", "/nonexistent.toml"]) == 2
