"""Schedule tables: every roster boundary, midnight, a holiday, a 调休 Saturday, weekend edges."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from console.domain import (
    DayKind,
    HolidayCalendar,
    HolidayPolicy,
    Roster,
    Schedule,
    ScheduleError,
    parse_days,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = HolidayCalendar(
    holidays={dt.date(2025, 10, d): "国庆节、中秋节" for d in range(1, 9)},
    makeup_days={dt.date(2025, 9, 28): "国庆节调休", dt.date(2025, 10, 11): "国庆节调休"},
)
NIGHT = Schedule(calendar=CAL, timezone="Asia/Shanghai", holiday_policy=HolidayPolicy.NIGHT)
WEEKEND = Schedule(calendar=CAL, timezone="Asia/Shanghai", holiday_policy=HolidayPolicy.WEEKEND)


def at(y: int, mo: int, d: int, h: int, mi: int, s: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, us, tzinfo=SH)


# 2025-09-22 is a Monday; 2025-09-26 a Friday; 2025-09-27 Saturday; 2025-09-28 a 调休 Sunday.
CASES = [
    # (moment, rosters on duty, next boundary)
    (at(2025, 9, 22, 7, 59, 59), (), at(2025, 9, 22, 8, 0)),
    (at(2025, 9, 22, 8, 0), ("day",), at(2025, 9, 22, 11, 30)),
    (at(2025, 9, 22, 11, 29, 59, 999999), ("day",), at(2025, 9, 22, 11, 30)),
    (at(2025, 9, 22, 11, 30), ("day", "noon"), at(2025, 9, 22, 14, 0)),
    (at(2025, 9, 22, 13, 59, 59), ("day", "noon"), at(2025, 9, 22, 14, 0)),
    (at(2025, 9, 22, 14, 0), ("day",), at(2025, 9, 22, 17, 30)),
    (at(2025, 9, 22, 17, 29, 59), ("day",), at(2025, 9, 22, 17, 30)),
    (at(2025, 9, 22, 17, 30), ("evening",), at(2025, 9, 22, 21, 0)),
    (at(2025, 9, 22, 20, 59, 59), ("evening",), at(2025, 9, 22, 21, 0)),
    (at(2025, 9, 22, 21, 0), (), at(2025, 9, 23, 8, 0)),
    (at(2025, 9, 22, 23, 59, 59), (), at(2025, 9, 23, 8, 0)),
    (at(2025, 9, 23, 0, 0), (), at(2025, 9, 23, 8, 0)),
    # Friday night → the weekend: next boundary is Saturday 09:00
    (at(2025, 9, 26, 21, 0), (), at(2025, 9, 27, 9, 0)),
    (at(2025, 9, 27, 8, 59), (), at(2025, 9, 27, 9, 0)),
    (at(2025, 9, 27, 9, 0), ("weekend",), at(2025, 9, 27, 11, 30)),
    (at(2025, 9, 27, 11, 30), ("noon", "weekend"), at(2025, 9, 27, 14, 0)),
    (at(2025, 9, 27, 17, 59, 59), ("weekend",), at(2025, 9, 27, 18, 0)),
    (at(2025, 9, 27, 18, 0), (), at(2025, 9, 28, 8, 0)),  # Sunday 28th is a 调休 workday
    # 调休 Sunday runs the weekday rosters, not the weekend one
    (at(2025, 9, 28, 8, 0), ("day",), at(2025, 9, 28, 11, 30)),
    (at(2025, 9, 28, 17, 30), ("evening",), at(2025, 9, 28, 21, 0)),
    # National Day holiday (night policy): no roster for eight days, the next is on the 9th
    (at(2025, 9, 30, 21, 0), (), at(2025, 10, 9, 8, 0)),
    (at(2025, 10, 1, 10, 0), (), at(2025, 10, 9, 8, 0)),
    (at(2025, 10, 1, 12, 0), (), at(2025, 10, 9, 8, 0)),  # even "daily" noon is off
    # 调休 Saturday 2025-10-11 is a working day
    (at(2025, 10, 11, 8, 0), ("day",), at(2025, 10, 11, 11, 30)),
    (at(2025, 10, 11, 9, 30), ("day",), at(2025, 10, 11, 11, 30)),
    (at(2025, 10, 11, 18, 0), ("evening",), at(2025, 10, 11, 21, 0)),
    (at(2025, 10, 11, 21, 0), (), at(2025, 10, 12, 9, 0)),
]


@pytest.mark.parametrize(("moment", "names", "boundary"), CASES, ids=lambda v: str(v))
def test_at_night_policy(moment: dt.datetime, names: tuple[str, ...], boundary: dt.datetime):
    state = NIGHT.at(moment)
    assert sorted(state.roster_names) == sorted(names)
    assert state.staffed is bool(names)
    assert state.next_boundary == boundary
    assert state.next_boundary is not None and state.next_boundary > moment
    assert state.reason  # always explainable
    assert ("staffed by" in state.reason) is bool(names)


@pytest.mark.parametrize(
    ("moment", "names", "kind"),
    [
        (at(2025, 10, 1, 8, 59), (), DayKind.HOLIDAY),
        (at(2025, 10, 1, 9, 0), ("weekend",), DayKind.HOLIDAY),
        (at(2025, 10, 1, 12, 0), ("noon", "weekend"), DayKind.HOLIDAY),
        (at(2025, 10, 1, 18, 0), (), DayKind.HOLIDAY),
        (at(2025, 10, 11, 12, 0), ("day", "noon"), DayKind.MAKEUP_WORKDAY),
        (at(2025, 9, 27, 12, 0), ("noon", "weekend"), DayKind.WEEKEND),
        (at(2025, 9, 22, 12, 0), ("day", "noon"), DayKind.WORKDAY),
    ],
)
def test_holiday_follows_weekend_roster(
    moment: dt.datetime, names: tuple[str, ...], kind: DayKind
) -> None:
    state = WEEKEND.at(moment)
    assert sorted(state.roster_names) == sorted(names)
    assert state.day_kind is kind


def test_holiday_reason_names_the_holiday_and_policy() -> None:
    reason = NIGHT.at(at(2025, 10, 3, 10, 0)).reason
    assert "国庆节" in reason and "night" in reason and "gate post" in reason


def test_makeup_reason_says_tiaoxiu() -> None:
    assert "调休" in NIGHT.at(at(2025, 10, 11, 10, 0)).reason


def test_other_zone_input_is_converted() -> None:
    # 02:00 UTC = 10:00 in Shanghai (no DST there, ever): the day roster
    state = NIGHT.at(dt.datetime(2025, 9, 22, 2, 0, tzinfo=dt.UTC))
    assert state.roster_names == ("day",)
    assert state.at.utcoffset() == dt.timedelta(hours=8)


def test_shanghai_offset_constant_all_year() -> None:
    offsets = {at(2025, m, 15, 12, 0).utcoffset() for m in range(1, 13)}
    assert offsets == {dt.timedelta(hours=8)}


def test_dst_zone_boundary_is_wall_clock() -> None:
    # Europe/Berlin springs forward on 2025-03-30 (a Sunday); the Monday 08:00 boundary
    # must still be 08:00 local (06:00 UTC), not shifted by the change.
    berlin = Schedule(timezone="Europe/Berlin")
    state = berlin.at(dt.datetime(2025, 3, 29, 23, 0, tzinfo=dt.UTC))  # Sun 00:00 CET
    assert state.next_boundary is not None
    assert state.next_boundary.astimezone(dt.UTC) == dt.datetime(2025, 3, 30, 7, 0, tzinfo=dt.UTC)
    monday = berlin.at(dt.datetime(2025, 3, 31, 5, 59, tzinfo=dt.UTC))
    assert monday.next_boundary is not None
    assert monday.next_boundary.astimezone(dt.UTC) == dt.datetime(2025, 3, 31, 6, 0, tzinfo=dt.UTC)


def test_naive_time_refused() -> None:
    with pytest.raises(ScheduleError, match="no time zone"):
        NIGHT.at(dt.datetime(2025, 9, 22, 10, 0))


def test_unknown_zone_refused() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        Schedule(timezone="Mars/Olympus")


def test_no_roster_at_all_has_no_boundary() -> None:
    empty = Schedule(rosters=())
    state = empty.at(at(2025, 9, 22, 10, 0))
    assert not state.staffed and state.next_boundary is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sat,sun", {5, 6}),
        ("daily", set(range(7))),
        ("mon,wed-fri", {0, 2, 3, 4}),
        (" Sat ", {5}),
    ],
)
def test_parse_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize("text", ["", "fri-mon", "monday", "mon-", "1-5", "mon;fri"])
def test_parse_days_refuses(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_days(text)


def test_roster_end_before_start_refused() -> None:
    with pytest.raises(ScheduleError, match="not after start"):
        Roster("x", frozenset({0}), dt.time(18, 0), dt.time(9, 0))
    with pytest.raises(ScheduleError, match="not after start"):
        Roster("x", frozenset({0}), dt.time(9, 0), dt.time(9, 0))


def test_calendar_day_both_holiday_and_makeup_refused() -> None:
    day = dt.date(2025, 10, 1)
    with pytest.raises(ScheduleError, match="both"):
        HolidayCalendar({day: "a"}, {day: "b"})


def test_duplicate_roster_names_refused() -> None:
    r = Roster("x", frozenset({0}), dt.time(9, 0), dt.time(10, 0))
    with pytest.raises(ScheduleError, match="repeat"):
        Schedule(rosters=(r, r))
