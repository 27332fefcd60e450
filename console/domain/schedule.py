"""Who answers the line when (duty rules §1): rosters, public holidays and 调休 make-up days.

`Schedule.at(moment)` says whether the line is staffed, by which roster(s), when that next
changes and why. Everything is computed in the configured time zone (default Asia/Shanghai)
and compared in UTC, so the answer does not depend on the host's clock zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from console.domain.errors import ScheduleError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as written in the config file; index = `date.weekday()`."""

_UTC = dt.UTC
_LOOKAHEAD_DAYS = 60
"""How far ahead `next_boundary` is searched (longer than any holiday run)."""


def parse_days(text: str) -> frozenset[int]:
    """"mon-fri", "sat,sun", "daily", "mon,wed-fri" → weekday numbers (0 = Monday)."""
    words = text.strip().lower()
    if words in ("daily", "all", "mon-sun"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in words.split(","):
        part = part.strip()
        first, sep, last = part.partition("-")
        try:
            a = WEEKDAYS.index(first.strip())
            b = WEEKDAYS.index(last.strip()) if sep else a
        except ValueError:
            raise ScheduleError(
                f"{text!r} is not a list of days; expected e.g. \"mon-fri\", \"sat,sun\", \"daily\""
            ) from None
        if b < a:
            raise ScheduleError(f"{text!r}: day range {part!r} runs backwards")
        days.update(range(a, b + 1))
    return frozenset(days)


def format_days(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


@dataclass(frozen=True)
class Roster:
    """One duty roster: on these weekdays from `start` (inclusive) to `end` (exclusive)."""

    name: str
    """Key in the config ("day", "noon", "evening", "weekend")."""
    days: frozenset[int]
    """Weekdays it runs on, 0 = Monday."""
    start: dt.time
    end: dt.time
    label: str = ""
    """Chinese name shown on screens (早班, 中午值班 ...)."""

    def __post_init__(self) -> None:
        if not self.days or not all(0 <= d <= 6 for d in self.days):
            raise ScheduleError(f"roster {self.name}: no valid weekdays in {sorted(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ScheduleError(f"roster {self.name}: times are local wall-clock, without zone")
        if self.end <= self.start:
            raise ScheduleError(
                f"roster {self.name}: end {self.end:%H:%M} is not after start {self.start:%H:%M}"
            )

    def covers(self, weekday: int, wall: dt.time) -> bool:
        return weekday in self.days and self.start <= wall < self.end


DEFAULT_ROSTERS: tuple[Roster, ...] = (
    Roster("day", frozenset(range(5)), dt.time(8, 0), dt.time(17, 30), "早班"),
    Roster("noon", frozenset(range(7)), dt.time(11, 30), dt.time(14, 0), "中午值班"),
    Roster("evening", frozenset(range(5)), dt.time(17, 30), dt.time(21, 0), "晚班"),
    Roster("weekend", frozenset({5, 6}), dt.time(9, 0), dt.time(18, 0), "周末值班"),
)
"""Duty rules §1 defaults; the config file normally supplies these."""


class DayKind(enum.Enum):
    """What kind of day a date is, after the holiday calendar."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    """Public holiday (法定节假日), including the weekdays swapped into it."""
    MAKEUP_WORKDAY = "makeup_workday"
    """调休: a Saturday or Sunday that is worked as a weekday."""


class HolidayPolicy(enum.Enum):
    """What a public holiday follows."""

    WEEKEND = "weekend"
    """The weekend rosters (and daily ones) run as on a Sunday."""
    NIGHT = "night"
    """No roster: the line is forwarded to the gate post all day."""


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays and make-up working days, by date (from the calendar file)."""

    holidays: Mapping[dt.date, str] = field(default_factory=dict)
    """Date → holiday name (春节, 国庆节 ...)."""
    makeup_days: Mapping[dt.date, str] = field(default_factory=dict)
    """Date → why it is worked (e.g. "春节调休")."""
    makeup_works_as: int = 0
    """Which weekday's rosters a make-up day runs (0 = Monday)."""
    years: frozenset[int] = frozenset()
    """Years the calendar gives in whole (every holiday and make-up day of the year's notice):
    its coverage. A date of any other year is only weekend or working day, which may be wrong
    (see `console.domain.calendar.coverage`)."""

    def __post_init__(self) -> None:
        both = sorted(set(self.holidays) & set(self.makeup_days))
        if both:
            raise ScheduleError(
                f"{both[0].isoformat()} is both a holiday and a make-up working day",
                "Holiday calendar",
            )
        if not 0 <= self.makeup_works_as <= 6:
            raise ScheduleError(f"makeup_works_as {self.makeup_works_as} is not a weekday")

    def kind(self, day: dt.date) -> DayKind:
        if day in self.holidays:
            return DayKind.HOLIDAY
        if day in self.makeup_days:
            return DayKind.MAKEUP_WORKDAY
        return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY

    def name(self, day: dt.date) -> str:
        """The holiday's name, or why a make-up day is worked; "" for an ordinary day."""
        return self.holidays.get(day) or self.makeup_days.get(day, "")


@dataclass(frozen=True)
class ShiftState:
    """The answer to "who answers the line at this moment, and until when"."""

    at: dt.datetime
    """The moment asked about, in the schedule's zone."""
    day_kind: DayKind
    rosters: tuple[Roster, ...]
    """Rosters on duty now (several overlap at noon); empty = after hours."""
    next_boundary: dt.datetime | None
    """Next moment the set of rosters on duty changes (in the schedule's zone)."""
    reason: str
    """Why, in words for a screen or a log."""

    @property
    def staffed(self) -> bool:
        """True when some roster is on duty (the seat rings); False = night mode by schedule."""
        return bool(self.rosters)

    @property
    def roster_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rosters)


class Schedule:
    """Rosters + holiday calendar + time zone; answers `at(moment)`."""

    def __init__(
        self,
        rosters: Iterable[Roster] = DEFAULT_ROSTERS,
        calendar: HolidayCalendar | None = None,
        timezone: str | dt.tzinfo = "Asia/Shanghai",
        holiday_policy: HolidayPolicy = HolidayPolicy.NIGHT,
    ) -> None:
        self.rosters: tuple[Roster, ...] = tuple(rosters)
        names = [r.name for r in self.rosters]
        if len(set(names)) != len(names):
            raise ScheduleError(f"roster names repeat: {names}")
        self.calendar = calendar or HolidayCalendar()
        if isinstance(timezone, str):
            try:
                self.tz: dt.tzinfo = ZoneInfo(timezone)
            except (ValueError, KeyError, OSError):
                raise ScheduleError(f"unknown time zone {timezone!r}") from None
        else:
            self.tz = timezone
        self.holiday_policy = holiday_policy

    # ------------------------------------------------------------ per day

    def effective_weekday(self, day: dt.date) -> int | None:
        """Whose weekday's rosters run on `day`; None = no roster at all (holiday → night)."""
        kind = self.calendar.kind(day)
        if kind is DayKind.HOLIDAY:
            return 6 if self.holiday_policy is HolidayPolicy.WEEKEND else None
        if kind is DayKind.MAKEUP_WORKDAY:
            return self.calendar.makeup_works_as
        return day.weekday()

    def rosters_on(self, day: dt.date) -> tuple[Roster, ...]:
        weekday = self.effective_weekday(day)
        if weekday is None:
            return ()
        return tuple(r for r in self.rosters if weekday in r.days)

    # ------------------------------------------------------------ per moment

    def _local(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ScheduleError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
        return moment.astimezone(self.tz)

    def _on_duty(self, local: dt.datetime) -> tuple[Roster, ...]:
        wall = local.time().replace(tzinfo=None)
        return tuple(r for r in self.rosters_on(local.date()) if r.start <= wall < r.end)

    def at(self, moment: dt.datetime) -> ShiftState:
        """Who answers at `moment` (any aware datetime), and until when."""
        local = self._local(moment)
        on_duty = self._on_duty(local)
        boundary = self.next_boundary(local, on_duty)
        kind = self.calendar.kind(local.date())
        return ShiftState(
            at=local,
            day_kind=kind,
            rosters=on_duty,
            next_boundary=boundary,
            reason=self._explain(local, kind, on_duty, boundary),
        )

    def next_boundary(
        self, moment: dt.datetime, on_duty: tuple[Roster, ...] | None = None
    ) -> dt.datetime | None:
        """First moment after `moment` at which the rosters on duty differ from now."""
        local = self._local(moment)
        current = {r.name for r in (self._on_duty(local) if on_duty is None else on_duty)}
        now_utc = local.astimezone(_UTC)
        for offset in range(_LOOKAHEAD_DAYS + 1):
            day = local.date() + dt.timedelta(days=offset)
            candidates: set[dt.datetime] = {self._instant(day, dt.time(0, 0))}
            for r in self.rosters_on(day):
                candidates.add(self._instant(day, r.start))
                candidates.add(self._instant(day, r.end))
            for instant in sorted(c for c in candidates if c > now_utc):
                there = instant.astimezone(self.tz)
                if {r.name for r in self._on_duty(there)} != current:
                    return there
        return None

    def _instant(self, day: dt.date, wall: dt.time) -> dt.datetime:
        """The UTC instant of a local wall-clock time (a DST gap moves it forward)."""
        naive = dt.datetime.combine(day, wall)
        aware = naive.replace(tzinfo=self.tz)
        # Round-trip normalises a wall time that falls into a DST gap.
        return aware.astimezone(_UTC)

    def _explain(
        self,
        local: dt.datetime,
        kind: DayKind,
        on_duty: tuple[Roster, ...],
        boundary: dt.datetime | None,
    ) -> str:
        day = local.date()
        what = {
            DayKind.WORKDAY: "working day",
            DayKind.WEEKEND: "weekend",
            DayKind.HOLIDAY: f"public holiday {self.calendar.holidays.get(day, '')}".rstrip(),
            DayKind.MAKEUP_WORKDAY: "make-up working day (调休) "
            + self.calendar.makeup_days.get(day, ""),
        }[kind].strip()
        if kind is DayKind.HOLIDAY:
            what += f", follows {self.holiday_policy.value} rules"
        when = f"{local:%a %Y-%m-%d %H:%M} ({what})"
        until = f" until {boundary:%a %Y-%m-%d %H:%M}" if boundary else ""
        if on_duty:
            names = " + ".join(
                f"{r.name} {r.start:%H:%M}–{r.end:%H:%M}" for r in on_duty
            )
            return f"{when}: staffed by {names}{until}"
        return f"{when}: after hours, forward to the gate post{until}"
