"""The holiday calendar as the office keeps it: how far it reaches, layers, a year's notice.

A misrouted hotline is a disciplinary offence (duty rules §1), and a calendar that has run out
misroutes silently: past its last year every 元旦 is a working day. So the calendar knows the
years it gives in whole (`HolidayCalendar.years`), `coverage` says how far that reaches from a
given day (warning ahead, alarm past it), and a year's notice the office loads is checked
(`check_year`) and compared with the calendar in use day by day (`changes`) before it is used.
Plain Python: the package that supplies the State Council's dates and the file formats live
outside the domain (`console.holidays`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from console.domain.errors import ScheduleError
from console.domain.labels import Language
from console.domain.schedule import DayKind, HolidayCalendar

KIND_WORDS: dict[DayKind, tuple[str, str]] = {
    DayKind.HOLIDAY: ("法定节假日", "holiday"),
    DayKind.MAKEUP_WORKDAY: ("调休上班", "make-up working day"),
    DayKind.WEEKEND: ("周末", "weekend"),
    DayKind.WORKDAY: ("工作日", "working day"),
}
"""What each kind of day is called, in Chinese and English."""

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def kind_word(kind: DayKind, language: Language = Language.ZH) -> str:
    zh, en = KIND_WORDS[kind]
    return zh if language is Language.ZH else en


# ---------------------------------------------------------------- coverage


class CoverageLevel(enum.Enum):
    """How the calendar's reach stands on a given day."""

    COVERED = "covered"
    """The day and the next `warn_days` days are covered."""
    ENDING = "ending"
    """Covered today, but the end is within `warn_days`: time to load the next year."""
    ENDED = "ended"
    """Today is past the end: holidays are unknown, the line may be misrouted (an alarm)."""
    NONE = "none"
    """The calendar gives no year at all: no holiday calendar, by configuration."""


@dataclass(frozen=True)
class Coverage:
    """The calendar's reach as seen on `on`."""

    level: CoverageLevel
    on: dt.date
    ends: dt.date | None
    """The last covered date: of the run of whole years that holds `on`, or the last one
    before `on` when it is past; None when no covered year precedes `on`."""

    @property
    def days_left(self) -> int | None:
        """Days from `on` to `ends` (0 on the last covered day, negative once past)."""
        return None if self.ends is None else (self.ends - self.on).days

    @property
    def warning(self) -> bool:
        return self.level is CoverageLevel.ENDING

    @property
    def alarm(self) -> bool:
        return self.level is CoverageLevel.ENDED


def coverage(calendar: HolidayCalendar, on: dt.date, warn_days: int = 60) -> Coverage:
    """How far `calendar` reaches from `on`; ENDING from `warn_days` days before its end."""
    if warn_days < 0:
        raise ScheduleError(f"warn_days {warn_days} is negative")
    years = calendar.years
    if not years:
        return Coverage(CoverageLevel.NONE, on, None)
    if on.year in years:
        last = on.year
        while last + 1 in years:
            last += 1
        ends = dt.date(last, 12, 31)
        left = (ends - on).days
        level = CoverageLevel.ENDING if left <= warn_days else CoverageLevel.COVERED
        return Coverage(level, on, ends)
    before = [y for y in years if y < on.year]
    ends_before = dt.date(max(before), 12, 31) if before else None
    return Coverage(CoverageLevel.ENDED, on, ends_before)


# ---------------------------------------------------------------- layers


def overlay(base: HolidayCalendar, office: HolidayCalendar) -> HolidayCalendar:
    """`office` on top of `base` (the State Council's dates).

    A year the office gives in whole (`office.years`) replaces that year of `base`; in other
    years the office's days are additions (a company's own day off, or a worked day) that win
    over `base` on the same date. The result covers the years of both.
    """
    holidays = {d: n for d, n in base.holidays.items() if d.year not in office.years}
    makeup = {d: n for d, n in base.makeup_days.items() if d.year not in office.years}
    for day, name in office.holidays.items():
        makeup.pop(day, None)
        holidays[day] = name
    for day, name in office.makeup_days.items():
        holidays.pop(day, None)
        makeup[day] = name
    return HolidayCalendar(
        holidays, makeup, base.makeup_works_as, years=frozenset(base.years | office.years)
    )


def with_year(office: HolidayCalendar, notice: HolidayCalendar, year: int) -> HolidayCalendar:
    """The office's calendar with `year` replaced by `notice` (which gives that year whole)."""
    holidays = {d: n for d, n in office.holidays.items() if d.year != year}
    makeup = {d: n for d, n in office.makeup_days.items() if d.year != year}
    holidays.update(notice.holidays)
    makeup.update(notice.makeup_days)
    return HolidayCalendar(
        holidays, makeup, office.makeup_works_as, years=frozenset(office.years | {year})
    )


# ---------------------------------------------------------------- a year's notice


class CalendarProblem(ScheduleError):
    """A year's notice that cannot be used; `day` is the date it is about."""

    title = "Holiday calendar"

    def __init__(self, day: dt.date, problem: str, more: int = 0) -> None:
        self.day = day
        self.problem = problem
        self.more = more
        """How many other problems the notice has (only the first is told)."""
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{day.isoformat()}: {problem}{tail}")


WHOLE_YEAR = (
    "a year is whole when the file declares it, every date in it is in that year, 1 January "
    "(New Year's Day) is a holiday and a holiday falls on or after 1 October (National Day)"
)
"""What `check_year` takes as a whole year; said in the docs and the command's help."""


def year_problems(
    year: int, holidays: Mapping[dt.date, str], makeup_days: Mapping[dt.date, str]
) -> list[tuple[dt.date, str]]:
    """Everything wrong with a year's notice, in order: outside the year, make-up days that
    are not weekend days, days that are both, then what makes the year not whole."""
    problems: list[tuple[dt.date, str]] = []
    for day in sorted({*holidays, *makeup_days}):
        if day.year != year:
            problems.append(
                (day, f"is not in {year}: the file declares {year} and every date must be in it")
            )
    for day in sorted(makeup_days):
        if day.weekday() < 5:
            problems.append(
                (
                    day,
                    f"make-up working day {makeup_days[day]!r} is a "
                    f"{_WEEKDAY_NAMES[day.weekday()]}: a make-up day must be a Saturday or "
                    "Sunday",
                )
            )
    for day in sorted(set(holidays) & set(makeup_days)):
        problems.append(
            (
                day,
                f"is in the holiday {holidays[day]!r} and is also a make-up working day "
                f"{makeup_days[day]!r}: a holiday run must not overlap a make-up day",
            )
        )
    new_year = dt.date(year, 1, 1)
    if new_year not in holidays:
        problems.append(
            (new_year, "is not a holiday in the file: a whole year's notice starts with "
                       f"New Year's Day ({WHOLE_YEAR})")
        )
    autumn = dt.date(year, 10, 1)
    if not any(d.year == year and d >= autumn for d in holidays):
        problems.append(
            (autumn, "no holiday on or after it: a whole year's notice ends with National "
                     f"Day, this one looks cut short ({WHOLE_YEAR})")
        )
    return problems


def check_year(
    year: int, holidays: Mapping[dt.date, str], makeup_days: Mapping[dt.date, str]
) -> None:
    """Raise `CalendarProblem` for the first problem of the notice (see `year_problems`)."""
    problems = year_problems(year, holidays, makeup_days)
    if problems:
        day, problem = problems[0]
        raise CalendarProblem(day, problem, more=len(problems) - 1)


@dataclass(frozen=True)
class DayInfo:
    """One day as the calendar sees it."""

    day: dt.date
    kind: DayKind
    name: str
    """The holiday's name, or why a make-up day is worked; "" otherwise."""

    def describe(self, language: Language = Language.EN) -> str:
        word = kind_word(self.kind, language)
        return f"{word} {self.name}" if self.name else word


def year_days(calendar: HolidayCalendar, year: int) -> list[DayInfo]:
    """Every day of `year` with its kind and name."""
    day = dt.date(year, 1, 1)
    out: list[DayInfo] = []
    while day.year == year:
        out.append(DayInfo(day, calendar.kind(day), calendar.name(day)))
        day += dt.timedelta(days=1)
    return out


@dataclass(frozen=True)
class DayChange:
    """A day whose kind or name differs between two calendars."""

    before: DayInfo
    after: DayInfo

    @property
    def day(self) -> dt.date:
        return self.after.day

    def describe(self, language: Language = Language.EN) -> str:
        return (
            f"{self.day.isoformat()} {self.day:%a}  {self.before.describe(language)} → "
            f"{self.after.describe(language)}"
        )


def changes(before: HolidayCalendar, after: HolidayCalendar, year: int) -> list[DayChange]:
    """The days of `year` that `after` makes different from `before`, in date order."""
    return [
        DayChange(old, new)
        for old, new in zip(year_days(before, year), year_days(after, year), strict=True)
        if (old.kind, old.name) != (new.kind, new.name)
    ]
