"""PRC public holidays and 调休 make-up days from the `chinese-calendar` package.

The package carries the State Council's notices (国务院办公厅关于部分节假日安排的通知) from
2004 on and is released each year after the new notice; upgrading it is how a new year
arrives. For a year it does not carry it raises `NotImplementedError`: the years that do not
raise are the calendar's coverage (`HolidayCalendar.years`).
"""

from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar

from console.domain.schedule import HolidayCalendar

FIRST_YEAR = 2004
"""The first year the package carries (its README: 2004 on)."""
_LAST_YEAR_PROBED = 2999


def package_version() -> str:
    """The installed `chinese-calendar` version, for the start-up log and `holidays show`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinese-calendar")
    except PackageNotFoundError:  # pragma: no cover - installed as a dependency
        return getattr(chinese_calendar, "__version__", "?")


def covers(year: int) -> bool:
    """Whether the package carries `year` (it raises NotImplementedError otherwise)."""
    try:
        chinese_calendar.get_holiday_detail(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def covered_years() -> frozenset[int]:
    """The years the package carries: from `FIRST_YEAR` up to the first that raises."""
    years: set[int] = set()
    year = FIRST_YEAR
    while year <= _LAST_YEAR_PROBED and covers(year):
        years.add(year)
        year += 1
    return frozenset(years)


def _chinese(english: str) -> str:
    """The package keeps English names as values; the Holiday enum knows the Chinese one."""
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return english


@functools.cache
def _dates() -> tuple[dict[dt.date, str], dict[dt.date, str]]:
    """Its public tables (`holidays`: days off, `workdays`: Saturdays and Sundays worked),
    read directly: asking day by day re-scans them for every date (~0.6 s for 23 years)."""
    years = covered_years()
    holidays = {
        day: _chinese(name) for day, name in chinese_calendar.holidays.items() if day.year in years
    }
    makeup = {
        day: f"{_chinese(name)}调休"
        for day, name in chinese_calendar.workdays.items()
        if day.year in years
    }
    return holidays, makeup


def packaged_calendar(makeup_works_as: int = 0) -> HolidayCalendar:
    """The package's holidays and make-up days, covering the years it carries."""
    holidays, makeup = _dates()
    return HolidayCalendar(dict(holidays), dict(makeup), makeup_works_as, years=covered_years())
