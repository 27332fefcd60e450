"""A day's attendance from the state log: late, early, absences and their overdue count.

Boundaries: a login at 08:30:00 is on time and 08:30:01 late; a logout at 17:35:00 is on time
and 17:34:59 early; an absence of exactly 15:00 is fine and 15:01 overdue; an absence still
open at the end of the window counts up to it. Bad input: an entry without a time zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from console.domain.agent import AttendancePolicy
from console.domain.attendance import StateEntry, day_attendance

TZ = ZoneInfo("Asia/Shanghai")
POLICY = AttendancePolicy(timezone=TZ)


def t(hhmmss: str) -> dt.datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return dt.datetime(2026, 3, 2, h, m, s, tzinfo=TZ)


END = t("23:59:59")


@pytest.mark.parametrize(
    ("login", "logout", "late", "early"),
    [
        ("08:30:00", "17:35:00", False, False),
        ("08:30:01", "17:35:00", True, False),
        ("07:55:00", "17:34:59", False, True),
        ("09:10:00", "16:00:00", True, True),
    ],
)
def test_late_and_early_at_the_boundaries(login: str, logout: str, late: bool,
                                          early: bool) -> None:
    log = [StateEntry("1024", "logged_in", t(login)), StateEntry("1024", "ready", t(login)),
           StateEntry("1024", "logged_out", t(logout))]
    (day,) = day_attendance(log, POLICY, END)
    assert (day.late, day.early) == (late, early)
    assert day.first_login == t(login) and day.last_logout == t(logout)
    assert not day.logged_in_now


@pytest.mark.parametrize(("back", "overdue"), [("10:15:00", 0), ("10:15:01", 1)])
def test_an_absence_is_overdue_only_past_the_limit(back: str, overdue: int) -> None:
    log = [StateEntry("1024", "logged_in", t("08:00:00")),
           StateEntry("1024", "away", t("10:00:00"), "去洗手间"),
           StateEntry("1024", "ready", t(back))]
    (day,) = day_attendance(log, POLICY, END)
    assert day.aways == 1 and day.overdue_aways == overdue
    assert day.away_reasons == ["去洗手间"]
    assert day.logged_in_now  # no logout yet


def test_open_absence_counts_to_the_window_end_and_agents_are_separate() -> None:
    log = [
        StateEntry("2048", "logged_in", t("08:10:00")),
        StateEntry("2048", "on_call", t("09:00:00")),
        StateEntry("2048", "after_call", t("09:05:00")),
        StateEntry("2048", "on_call", t("09:30:00")),
        StateEntry("1024", "logged_in", t("08:20:00")),
        StateEntry("1024", "away", t("11:00:00"), "培训"),
    ]
    a, b = day_attendance(reversed(log), POLICY, t("11:40:00"))  # any order in
    assert a.agent_id == "1024" and a.away_total == dt.timedelta(minutes=40)
    assert a.overdue_aways == 1
    assert b.agent_id == "2048" and b.calls == 2 and b.aways == 0


def test_an_entry_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no zone"):
        day_attendance([StateEntry("1024", "logged_in", dt.datetime(2026, 3, 2, 8))],
                       POLICY, END)
