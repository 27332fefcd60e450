"""One clock (issue 11, point 5): the flow, the seat and the duty record read one clock, in
the line's time zone; a pretend clock (`--clock-start`) continues from the record's last
moment instead of starting its morning over at every run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.callflow import ShiftedClock, SystemClock
from console.runner import assemble
from console.store import AgentRole, AuthError, DutyRecord
from tests.e2e.labconfig import write_console_toml

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_start_without_offset_is_the_lines_time_and_continues_after_the_record() -> None:
    clock = ShiftedClock(datetime(2026, 3, 2, 10, 0))
    clock.settle(SHANGHAI, None)
    now = clock.now()
    assert now.utcoffset() == timedelta(hours=8) and (now.hour, now.minute) == (10, 0)
    later = datetime(2026, 3, 2, 11, 30, tzinfo=SHANGHAI)
    clock = ShiftedClock(datetime(2026, 3, 2, 10, 0))
    clock.settle(SHANGHAI, later.astimezone(ZoneInfo("UTC")))
    assert later < clock.now() < later + timedelta(seconds=5)
    # an earlier record does not pull the clock back
    clock = ShiftedClock(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI))
    clock.settle(SHANGHAI, later - timedelta(days=1))
    assert clock.now().hour == 10
    wall = SystemClock()
    wall.settle(SHANGHAI)
    assert wall.now().utcoffset() == timedelta(hours=8)


def test_the_record_stamps_by_the_flows_clock_and_a_new_run_goes_on(tmp_path: Path) -> None:
    path = write_console_toml(tmp_path, 5060, take_message=False)
    clock = ShiftedClock(datetime(2026, 3, 2, 10, 0))  # as scripts/console passes it
    headless = assemble(path, clock=clock)
    store: DutyRecord = headless.store
    try:
        assert headless.flow.clock is clock
        start = clock.now()
        assert start.utcoffset() == timedelta(hours=8) and start.hour == 10
        store.create_agent("1001", "王芳", AgentRole.AGENT, "pw-1001")
        due = start + timedelta(minutes=5)
        f = store.add_follow_up("1001", "回电", due)
        # created by the same clock the due time came from (was the wall clock: 12-02 05:41)
        assert abs((f.created_at - start).total_seconds()) < 30
        assert f.due_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") == "03-02 10:05"
        day = datetime(2026, 3, 2, tzinfo=SHANGHAI)
        k = store.kpis(day, day + timedelta(days=1))
        assert k.open_follow_ups == 1  # was 0: created "in December", after the day
        for _ in range(store.lockout_failures):
            with pytest.raises(AuthError):
                store.verify_secret("1001", "wrong")
        with pytest.raises(AuthError) as info:
            store.verify_secret("1001", "pw-1001")
        assert "until 10:1" in str(info.value)  # the pretend 10:00 + 15 min, not the wall's
        latest = store.latest_time()
        assert latest is not None and latest >= f.created_at
    finally:
        store.close()
    again = ShiftedClock(datetime(2026, 3, 2, 10, 0))
    headless = assemble(path, clock=again)
    try:
        assert again.now() > latest  # the second run's morning goes on from the first's
    finally:
        headless.store.close()
