"""The holiday calendar's reach, its layers and a year's notice: tables, no files, no clock."""

from __future__ import annotations

import datetime as dt

import pytest

from console.domain import (
    CalendarProblem,
    CoverageLevel,
    DayKind,
    HolidayCalendar,
    ScheduleError,
    changes,
    check_year,
    coverage,
    overlay,
    with_year,
    year_days,
)
from console.domain.calendar import year_problems

D = dt.date
PACKAGE = HolidayCalendar(
    {D(2026, 1, 1): "元旦", D(2026, 10, 1): "国庆节", D(2025, 1, 1): "元旦"},
    {D(2026, 10, 10): "国庆节调休"},
    years=frozenset({2024, 2025, 2026}),
)


@pytest.mark.parametrize(
    ("years", "on", "warn", "level", "ends"),
    [
        ({2025, 2026}, D(2026, 12, 1), 60, CoverageLevel.ENDING, D(2026, 12, 31)),
        ({2025, 2026}, D(2026, 11, 1), 60, CoverageLevel.ENDING, D(2026, 12, 31)),  # 60 left
        ({2025, 2026}, D(2026, 10, 31), 60, CoverageLevel.COVERED, D(2026, 12, 31)),  # 61
        ({2025, 2026}, D(2026, 12, 31), 0, CoverageLevel.ENDING, D(2026, 12, 31)),
        ({2025, 2026}, D(2026, 12, 30), 0, CoverageLevel.COVERED, D(2026, 12, 31)),
        ({2025, 2026}, D(2025, 12, 1), 60, CoverageLevel.COVERED, D(2026, 12, 31)),  # runs on
        ({2025, 2026}, D(2027, 1, 2), 60, CoverageLevel.ENDED, D(2026, 12, 31)),
        ({2025, 2026, 2028}, D(2027, 6, 1), 60, CoverageLevel.ENDED, D(2026, 12, 31)),  # a gap
        ({2028}, D(2027, 6, 1), 60, CoverageLevel.ENDED, None),  # nothing before today
        (set(), D(2027, 6, 1), 60, CoverageLevel.NONE, None),
    ],
)
def test_coverage(years: set[int], on: dt.date, warn: int, level: CoverageLevel,
                  ends: dt.date | None) -> None:
    cov = coverage(HolidayCalendar(years=frozenset(years)), on, warn)
    assert (cov.level, cov.ends) == (level, ends)
    assert cov.alarm is (level is CoverageLevel.ENDED)
    assert cov.warning is (level is CoverageLevel.ENDING)


def test_coverage_days_left_and_bad_warn_days() -> None:
    cal = HolidayCalendar(years=frozenset({2026}))
    assert coverage(cal, D(2026, 12, 1)).days_left == 30
    assert coverage(cal, D(2027, 1, 2)).days_left == -2
    with pytest.raises(ScheduleError):
        coverage(cal, D(2026, 12, 1), -1)


def test_office_layer_adds_and_replaces_whole_years() -> None:
    office = HolidayCalendar(
        {D(2026, 9, 22): "厂庆", D(2026, 10, 10): "厂休", D(2027, 1, 1): "元旦"},
        {D(2026, 10, 1): "值守", D(2027, 2, 6): "春节调休"},
        years=frozenset({2027}),
    )
    cal = overlay(PACKAGE, office)
    assert cal.years == {2024, 2025, 2026, 2027}
    assert cal.kind(D(2026, 9, 22)) is DayKind.HOLIDAY  # the office's own day off
    assert cal.kind(D(2026, 10, 10)) is DayKind.HOLIDAY  # wins over the package's 调休
    assert cal.kind(D(2026, 10, 1)) is DayKind.MAKEUP_WORKDAY  # the office works it
    assert cal.kind(D(2026, 1, 1)) is DayKind.HOLIDAY  # the package's, untouched
    assert cal.name(D(2027, 2, 6)) == "春节调休"
    # a whole year of the office replaces the package's year
    replaced = overlay(PACKAGE, HolidayCalendar({D(2026, 1, 2): "元旦"}, years=frozenset({2026})))
    assert set(replaced.holidays) == {D(2026, 1, 2), D(2025, 1, 1)}
    assert not replaced.makeup_days


def test_with_year_replaces_only_that_year() -> None:
    office = HolidayCalendar({D(2026, 9, 22): "厂庆", D(2027, 9, 22): "厂庆"})
    notice = HolidayCalendar({D(2027, 1, 1): "元旦"}, {D(2027, 2, 6): "春节调休"})
    out = with_year(office, notice, 2027)
    assert out.holidays == {D(2026, 9, 22): "厂庆", D(2027, 1, 1): "元旦"}
    assert out.makeup_days == {D(2027, 2, 6): "春节调休"} and out.years == {2027}


WHOLE = {D(2027, 1, 1): "元旦", D(2027, 10, 1): "国庆节"}


@pytest.mark.parametrize(
    ("holidays", "makeup", "day", "words"),
    [
        ({**WHOLE, D(2026, 12, 31): "元旦"}, {}, D(2026, 12, 31), "is not in 2027"),
        (WHOLE, {D(2027, 2, 9): "春节调休"}, D(2027, 2, 9), "is a Tuesday"),
        ({**WHOLE, D(2027, 2, 6): "春节"}, {D(2027, 2, 6): "春节调休"}, D(2027, 2, 6),
         "must not overlap a make-up day"),
        ({D(2027, 10, 1): "国庆节"}, {}, D(2027, 1, 1), "starts with New Year's Day"),
        ({D(2027, 1, 1): "元旦", D(2027, 5, 1): "劳动节"}, {}, D(2027, 10, 1), "cut short"),
    ],
)
def test_a_bad_notice_names_the_date_and_the_problem(
    holidays: dict[dt.date, str], makeup: dict[dt.date, str], day: dt.date, words: str
) -> None:
    with pytest.raises(CalendarProblem) as info:
        check_year(2027, holidays, makeup)
    assert info.value.day == day and words in str(info.value)
    assert str(info.value).startswith(day.isoformat())


def test_a_good_notice_passes_and_problems_come_in_order() -> None:
    check_year(2027, WHOLE, {D(2027, 2, 6): "春节调休"})
    problems = year_problems(2027, {D(2026, 5, 1): "x"}, {D(2027, 2, 9): "y"})
    assert [d for d, _ in problems] == [D(2026, 5, 1), D(2027, 2, 9), D(2027, 1, 1),
                                        D(2027, 10, 1)]
    with pytest.raises(CalendarProblem, match=r"and 3 more problems"):
        check_year(2027, {D(2026, 5, 1): "x"}, {D(2027, 2, 9): "y"})


def test_changes_day_by_day() -> None:
    before = PACKAGE
    after = overlay(PACKAGE, HolidayCalendar(
        {D(2026, 1, 1): "元旦", D(2026, 1, 2): "元旦", D(2026, 10, 1): "国庆"},
        years=frozenset({2026}),
    ))
    diff = changes(before, after, 2026)
    assert [c.day for c in diff] == [D(2026, 1, 2), D(2026, 10, 1), D(2026, 10, 10)]
    assert diff[0].describe() == "2026-01-02 Fri  working day → holiday 元旦"
    assert diff[1].describe() == "2026-10-01 Thu  holiday 国庆节 → holiday 国庆"
    assert diff[2].describe() == "2026-10-10 Sat  make-up working day 国庆节调休 → weekend"
    assert changes(before, before, 2026) == []


def test_year_days_lists_every_day_with_its_kind() -> None:
    days = year_days(PACKAGE, 2026)
    assert len(days) == 365 and days[0].kind is DayKind.HOLIDAY and days[0].name == "元旦"
    assert {d.kind for d in days} == set(DayKind)
    assert len(year_days(PACKAGE, 2028)) == 366
