"""The calendar's end, told in time: the log warns from warn_days before it; past it an alarm
at every start and once a day, in the log and the audit log (clock injected)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from console.domain import HolidayCalendar
from console.holidays.watch import ALARM_ACTION, CalendarWatch
from console.runner import assemble
from console.store import DutyRecord
from sip.api import LineEvent, LineStatus
from tests.e2e.labconfig import write_console_toml
from tests.ui.fakes import FakeClock

SH = ZoneInfo("Asia/Shanghai")
DATA = Path(__file__).resolve().parents[1] / "data" / "holidays"
CAL = HolidayCalendar(years=frozenset({2025, 2026}))
WARNING_DAY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
ALARM_DAY = dt.datetime(2027, 1, 2, 10, 0, tzinfo=SH)


class Audit:
    """A fake audit log: what was written, in order."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []

    def __call__(self, action: str, who: str, detail: str) -> None:
        self.entries.append((action, who, detail))


def test_warning_from_warn_days_before_the_end(caplog: pytest.LogCaptureFixture) -> None:
    audit = Audit()
    watch = CalendarWatch(CAL, 60, FakeClock(WARNING_DAY), SH, audit)
    with caplog.at_level(logging.INFO, "console.holidays"):
        assert watch.check().warning
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "holiday calendar ends 2026-12-31 (30 days left)" in record.getMessage()
    assert audit.entries == []
    quiet = CalendarWatch(CAL, 10, FakeClock(WARNING_DAY), SH, audit)
    caplog.clear()
    with caplog.at_level(logging.INFO, "console.holidays"):
        assert not quiet.check().warning
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_alarm_at_start_and_once_a_day(caplog: pytest.LogCaptureFixture) -> None:
    audit = Audit()
    clock = FakeClock(ALARM_DAY)
    watch = CalendarWatch(CAL, 60, clock, SH, audit)
    with caplog.at_level(logging.INFO, "console.holidays"):
        assert watch.check().alarm
        watch.check()  # the same day: told once
        clock.advance(3600 * 20)  # 2027-01-03 06:00 local: a new day
        watch.check()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].startswith("ALARM: holiday calendar ended 2026-12-31")
    assert [a for a, _, _ in audit.entries] == [ALARM_ACTION, ALARM_ACTION]
    assert audit.entries[0][1] == "console"
    assert audit.entries[0][2].startswith("2027-01-02T10:00:00+08:00 ⚠ holiday calendar ended")
    # another start on the same day alarms again
    CalendarWatch(CAL, 60, clock, SH, audit).check()
    assert len(audit.entries) == 3


def test_a_failing_audit_log_does_not_stop_the_watch(caplog: pytest.LogCaptureFixture) -> None:
    def broken(action: str, who: str, detail: str) -> None:
        raise RuntimeError("database down")

    watch = CalendarWatch(CAL, 60, FakeClock(ALARM_DAY), SH, broken)
    assert watch.check().alarm
    assert any("not recorded" in r.getMessage() for r in caplog.records)


def test_the_thread_looks_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(WARNING_DAY)
    audit = Audit()
    watch = CalendarWatch(CAL, 60, clock, SH, audit, interval=0.01)
    watch.check()
    clock.advance(86400 * 32)  # 2027-01-02
    watch.start()
    try:
        for _ in range(500):
            if audit.entries:
                break
            threading.Event().wait(0.01)
    finally:
        watch.stop()
    assert [a for a, _, _ in audit.entries] == [ALARM_ACTION]


class QuietLine:
    """A line that never touches the network."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.status = LineStatus.STOPPED

    def prepare(self, prompts: Any) -> None:
        return None

    def start(self, timeout: float = 10.0) -> None:
        self.status = LineStatus.REGISTERED

    def stop(self) -> None:
        self.status = LineStatus.STOPPED

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True

    def calls(self) -> list[Any]:
        return []


def _console(tmp_path: Path) -> Path:
    """The lab's console.toml with a calendar of 2026 only (the office's file, no package):
    the test does not move when chinese-calendar brings a new year."""
    path = write_console_toml(tmp_path, 5060)
    shutil.copy(DATA / "notice-2026.toml", tmp_path / "holidays.toml")
    path.write_text(path.read_text("utf-8")
                    + '\n[holidays]\nsource = "none"\ncalendar = "holidays.toml"\n', "utf-8")
    return path


@pytest.mark.parametrize(
    ("now", "level", "words", "audited"),
    [
        (WARNING_DAY, logging.WARNING, "holiday calendar ends 2026-12-31 (30 days left)", False),
        (ALARM_DAY, logging.ERROR, "ALARM: holiday calendar ended 2026-12-31", True),
    ],
)
def test_the_headless_log_says_so_and_the_alarm_is_audited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, now: dt.datetime, level: int, words: str,
    audited: bool,
) -> None:
    with caplog.at_level(logging.INFO):
        headless = assemble(_console(tmp_path), clock=FakeClock(now), line_factory=QuietLine)  # type: ignore[arg-type]
        started = threading.Event()
        runner = threading.Thread(target=headless.run, args=(started.set,))
        runner.start()
        assert started.wait(20)
        headless.request_stop()
        runner.join(20)
    told = [r for r in caplog.records if r.name == "console.holidays"]
    assert [(r.levelno, words in r.getMessage()) for r in told] == [(level, True)]
    assert "duty-console holidays add" in told[0].getMessage()
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", create=False)
    try:
        alarms = [a for a in record.audit_log() if a.action == ALARM_ACTION]
    finally:
        record.close()
    assert len(alarms) == (1 if audited else 0)
    if audited:
        assert alarms[0].who == "console" and "2026-12-31" in alarms[0].detail
