"""A year's notice from a file (our TOML or an iCalendar feed), and the office's calendar file.

`read_notice` reads a year the office wants to load (`duty-console holidays add FILE`) and
checks it (`console.domain.calendar.check_year`); every problem is one `NoticeError` line that
names the file, the date and what is wrong. `calendar_toml` writes the office's calendar back
in the format `console.config.load_calendar` reads.

iCalendar (RFC 5545) is read with the `icalendar` library. A feed's all-day events are days
off, unless the event is a make-up working day: its CATEGORIES hold 补班, 上班, 班, workday or
makeup, or its SUMMARY holds 补班 or 上班 (or ends in (班)). Names drop a feed's decorations
("春节 假期 第1天/共8天" → 春节; a make-up day gets 调休: 春节调休).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.domain.calendar import CalendarProblem, check_year
from console.domain.schedule import HolidayCalendar
from console.ui.errors import TextKey, WordedError


class NoticeError(WordedError):
    """A notice file that cannot be loaded; the message is the one line to show, worded
    from the text table (`str()`: the command's English line; `words(language)`: the
    supervisor's dialog in the seat's language)."""

    title = "Holiday calendar"
    title_key = "hol.title"


@dataclass(frozen=True)
class Notice:
    """One year's holidays and make-up days, read and checked."""

    source: str
    year: int
    holidays: dict[dt.date, str]
    makeup_days: dict[dt.date, str]
    skipped: int = 0
    """Events of other years a multi-year .ics feed held (left out by `--year`)."""
    notes: list[str] = field(default_factory=list)

    def calendar(self, makeup_works_as: int = 0) -> HolidayCalendar:
        """The notice as a calendar covering its year."""
        return HolidayCalendar(
            dict(self.holidays), dict(self.makeup_days), makeup_works_as,
            years=frozenset({self.year}),
        )


def read_notice(path: Path, year: int | None = None) -> Notice:
    """Read and check a year's notice: `.toml` (our format with `year = YYYY`) or `.ics`.

    `year` (the command's `--year`) takes that year out of a multi-year .ics feed; a TOML
    file declares its year itself, and `year` must then agree.
    """
    suffix = path.suffix.lower()
    if suffix == ".toml":
        notice = _read_toml(path, year)
    elif suffix in (".ics", ".ical", ".ifb", ".icalendar"):
        notice = _read_ics(path, year)
    else:
        raise NoticeError("hol.kind", path=path)
    try:
        check_year(notice.year, notice.holidays, notice.makeup_days)
    except CalendarProblem as exc:
        raise NoticeError("hol.problem", path=path, day=exc.day, detail=exc) from None
    return notice


def _read_toml(path: Path, year: int | None) -> Notice:
    from console.config import ConfigError, read_calendar_file

    try:
        file = read_calendar_file(path)
    except ConfigError as exc:
        raise NoticeError("hol.config", path=path, detail=exc) from None
    if len(file.years) != 1:
        declared = ", ".join(str(y) for y in sorted(file.years))
        raise NoticeError("hol.one_year", path=path,
                          declared=declared if file.years else TextKey("hol.none"))
    (declared_year,) = file.years
    if year is not None and year != declared_year:
        raise NoticeError("hol.toml_year", path=path, declared=declared_year, year=year)
    return Notice(str(path), declared_year, file.holidays, file.makeup_days)


# ---------------------------------------------------------------- iCalendar

_MAKEUP_CATEGORIES = frozenset({"补班", "上班", "班", "workday", "working day", "makeup",
                                "make-up"})
_DECORATION = re.compile(r"\s*(第\s*\d+\s*天\s*/\s*共\s*\d+\s*天|[(（][休班][)）])\s*$")
_MARKERS = re.compile(r"\s*(假期|放假|补班|上班|休息)\s*")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _categories(event: Any) -> set[str]:
    raw = event.get("CATEGORIES")
    if raw is None:
        return set()
    items = raw if isinstance(raw, list) else [raw]
    out: set[str] = set()
    for item in items:
        for cat in getattr(item, "cats", [item]):
            out.add(_text(cat).casefold())
    return out


def _is_makeup(summary: str, categories: set[str]) -> bool:
    if categories & _MAKEUP_CATEGORIES:
        return True
    return "补班" in summary or "上班" in summary or bool(re.search(r"[(（]班[)）]\s*$", summary))


def _name(summary: str, makeup: bool) -> str:
    name = summary
    while True:
        shorter = _DECORATION.sub("", name)
        if shorter == name:
            break
        name = shorter
    name = _MARKERS.sub("", name).strip() or ("调休" if makeup else "假日")
    if makeup and "调休" not in name:
        name += "调休"
    return name


def _parse(path: Path) -> Any:
    import icalendar

    try:
        return icalendar.Calendar.from_ical(path.read_bytes())
    except OSError as exc:
        raise NoticeError("hol.unreadable", path=path, detail=exc.strerror) from None
    except ValueError as exc:
        raise NoticeError("hol.not_ics", path=path, detail=exc) from None


def _events(path: Path, calendar: Any) -> Iterator[tuple[str, dt.date, dt.date, bool]]:
    """(name, first, last, make-up?) of each all-day event of the feed."""
    for event in calendar.walk("VEVENT"):
        summary = _text(event.get("SUMMARY"))
        start_prop = event.get("DTSTART")
        if start_prop is None:
            raise NoticeError("hol.no_start", path=path, event=summary)
        start = start_prop.dt
        if isinstance(start, dt.datetime):
            raise NoticeError("hol.time_of_day", path=path, day=start.date(),
                              event=summary, time=f"{start:%H:%M}")
        if event.get("RRULE") is not None:
            raise NoticeError("hol.repeats", path=path, day=start, event=summary)
        end_prop, duration = event.get("DTEND"), event.get("DURATION")
        if end_prop is not None:
            end = end_prop.dt  # exclusive (RFC 5545 §3.6.1)
            if isinstance(end, dt.datetime):
                end = end.date()
        elif duration is not None:
            end = start + duration.dt
        else:
            end = start + dt.timedelta(days=1)
        if end <= start:
            raise NoticeError("hol.backwards", path=path, day=start, event=summary)
        last = end - dt.timedelta(days=1)
        if (last - start).days > 31:
            raise NoticeError("hol.too_long", path=path, day=start, event=summary,
                              last=last)
        makeup = _is_makeup(summary, _categories(event))
        yield _name(summary, makeup), start, last, makeup


def _declared_year(path: Path, calendar: Any) -> int | None:
    raw = calendar.get("X-DUTY-YEAR")
    if raw is None:
        return None
    text = raw.to_ical().decode() if hasattr(raw, "to_ical") else str(raw)
    if not re.fullmatch(r"\s*\d{4}\s*", text):
        raise NoticeError("hol.bad_year", path=path, value=text)
    return int(text)


def _read_ics(path: Path, year: int | None) -> Notice:
    calendar = _parse(path)
    events = list(_events(path, calendar))
    declared = _declared_year(path, calendar)
    if year is None:
        year = declared
    if year is None:
        raise NoticeError("hol.no_year", path=path)
    if declared is not None and declared != year:
        raise NoticeError("hol.ics_year", path=path, declared=declared, year=year)
    holidays: dict[dt.date, str] = {}
    makeup: dict[dt.date, str] = {}
    skipped = 0
    for name, first, last, is_makeup in events:
        if declared is None and first.year != year and last.year != year:
            skipped += 1  # another year of a multi-year feed
            continue
        if declared is None and (first.year != year or last.year != year):
            raise NoticeError("hol.across", path=path, day=first, event=name, last=last,
                              year=year)
        target = makeup if is_makeup else holidays
        day = first
        while day <= last:
            target.setdefault(day, name)
            day += dt.timedelta(days=1)
    return Notice(str(path), year, holidays, makeup, skipped=skipped)


# ---------------------------------------------------------------- the office's calendar file


def _toml_string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)  # JSON escapes are TOML escapes
    return quoted.replace("\x7f", "\\u007f")


def _runs(days: Mapping[dt.date, str]) -> Iterator[tuple[str, dt.date, dt.date]]:
    """Consecutive days with the same name as (name, first, last)."""
    run: list[dt.date] = []
    for day in sorted(days):
        if run and (day - run[-1]).days == 1 and days[day] == days[run[0]]:
            run.append(day)
            continue
        if run:
            yield days[run[0]], run[0], run[-1]
        run = [day]
    if run:
        yield days[run[0]], run[0], run[-1]


CALENDAR_HEADER = """\
# The office's holiday calendar for the duty console, on top of the chinese-calendar package
# ([holidays] calendar in console.toml). Written by `duty-console holidays add`; it may be
# edited by hand too (comments are not kept when the command writes it again).
#
# years = [...]   years given in whole here: they replace the package's dates of that year
# [[holiday]]  name = "...", date = YYYY-MM-DD (or from = ..., to = ..., inclusive)
# [[makeup]]   name = "...", date = YYYY-MM-DD   a Saturday/Sunday worked as a weekday (调休)
# Days of other years are the office's additions (its own days off, or days worked).
"""


def calendar_toml(calendar: HolidayCalendar) -> str:
    """The office's calendar in the TOML format `console.config.load_calendar` reads."""
    lines = [CALENDAR_HEADER]
    lines.append(f"years = [{', '.join(str(y) for y in sorted(calendar.years))}]\n")
    entries: list[tuple[dt.date, str, str, dt.date]] = []
    for kind, days in (("holiday", calendar.holidays), ("makeup", calendar.makeup_days)):
        for name, first, last in _runs(days):
            entries.append((first, kind, name, last))
    for first, kind, name, last in sorted(entries):
        lines.append(f"[[{kind}]]\nname = {_toml_string(name)}\n")
        if first == last:
            lines.append(f"date = {first.isoformat()}\n\n")
        else:
            lines.append(f"from = {first.isoformat()}\nto = {last.isoformat()}\n\n")
    text = "".join(lines).rstrip("\n") + "\n"
    tomllib.loads(text)  # what we write must read back
    return text
