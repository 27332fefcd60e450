"""`duty-console holidays add FILE | show YEAR`: the office loads a year and checks the calendar.

`add` reads a year's notice (our TOML with `year = YYYY`, or an iCalendar .ics feed with
`--year` or `X-DUTY-YEAR`), checks it (make-up days are Saturdays or Sundays, no holiday run
overlaps a make-up day, the year is whole: see `console.domain.calendar.WHOLE_YEAR`), prints
what changes day by day against the calendar in use, writes it into the office's calendar file
(`[holidays] calendar`) and records an audit entry in the duty record. `show` prints every day
of a year with its kind, so a supervisor can hold it against the State Council's notice.

Exit status: 0 done; 1 `show` of a year the calendar does not cover; 2 a bad file, config or
record, told in one line (file, date, problem), never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from console.domain.calendar import (
    WHOLE_YEAR,
    changes,
    kind_word,
    overlay,
    with_year,
    year_days,
)
from console.domain.labels import Language
from console.domain.schedule import DayKind, HolidayCalendar

log = logging.getLogger("console.holidays.cli")

ADD_ACTION = "holidays_add"
"""The audit log's action for a year loaded into the office's calendar."""


def add_commands(subparsers: Any) -> None:
    """Register `holidays add` and `holidays show` on the `duty-console` parser."""
    holidays = subparsers.add_parser(
        "holidays", help="the holiday calendar: load a year's notice, show a year"
    )
    sub = holidays.add_subparsers(dest="holidays_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="load a year's notice (.toml or .ics) into the office's calendar",
        description=f"Check a year's notice and write it into [holidays] calendar; {WHOLE_YEAR}.",
    )
    add.add_argument("file", type=Path, metavar="FILE", help="the notice: .toml or .ics")
    add.add_argument("--year", type=int, default=None,
                     help="the year to load (takes that year out of a multi-year .ics feed)")
    add.add_argument("--dry-run", action="store_true",
                     help="check and show the changes, write nothing")
    _common(add)
    add.add_argument("--who", default=os.environ.get("USER", "cli"),
                     help="who loads it (the audit entry names them)")
    add.set_defaults(handler=cmd_add)

    show = sub.add_parser("show", help="print every day of a year with its kind")
    show.add_argument("year", type=int, metavar="YEAR")
    _common(show)
    show.set_defaults(handler=cmd_show)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="the console's TOML file (default console.toml)")


def _fail(message: str) -> int:
    sys.stderr.write(f"{message}\n")
    return 2


def _titled(exc: Exception) -> str:
    title = getattr(exc, "title", None)
    return f"{title}: {exc}" if isinstance(title, str) else str(exc)


def _config(args: argparse.Namespace, office_calendar: bool = True) -> Any:
    from console import config as config_mod

    return config_mod.load(getattr(args, "config", "console.toml"),
                           office_calendar=office_calendar)


def _office(path: Path | None, makeup_works_as: int) -> HolidayCalendar:
    from console.config import load_calendar

    if path is None or not path.exists():
        return HolidayCalendar(makeup_works_as=makeup_works_as)
    return load_calendar(path, makeup_works_as)


def _source_name(cfg: Any) -> str:
    from console.config import HolidaySource
    from console.holidays.source import package_version

    if cfg.holidays.source is HolidaySource.CHINESE_CALENDAR:
        return f"chinese-calendar {package_version()}"
    return "no package (source = none)"


# ---------------------------------------------------------------- add


def cmd_add(args: argparse.Namespace) -> int:
    from console.config import ConfigError, build_calendar
    from console.holidays.files import NoticeError, calendar_toml, read_notice

    try:
        cfg = _config(args, office_calendar=False)
    except (ConfigError, OSError) as exc:
        return _fail(_titled(exc))
    target = cfg.holidays.calendar_file
    if target is None:
        return _fail(
            f"Configuration: {cfg.source}: holidays.calendar: not set; `holidays add` writes the "
            'office\'s calendar there: add calendar = "holidays.toml" under [holidays]'
        )
    try:
        notice = read_notice(args.file, args.year)
        office = _office(target, cfg.holidays.makeup_works_as)
    except (NoticeError, ConfigError) as exc:
        return _fail(_titled(exc))
    base = build_calendar(cfg.holidays, office=False)
    year = notice.year
    new_office = with_year(office, notice.calendar(cfg.holidays.makeup_works_as), year)
    before, after = overlay(base, office), overlay(base, new_office)
    diff = changes(before, after, year)
    out = sys.stdout
    out.write(
        f"{args.file}: {year}: {len(notice.holidays)} holiday day(s), "
        f"{len(notice.makeup_days)} make-up working day(s)"
        + (f"; {notice.skipped} event(s) of other years left out" if notice.skipped else "")
        + "\n"
    )
    where = "the office's calendar" if year in office.years else _source_name(cfg)
    out.write(f"changes against the calendar in use ({year} from {where}):\n")
    for change in diff:
        out.write(f"  {change.describe(Language.EN)}\n")
    if not diff:
        out.write("  none: every day of the year stays as it is\n")
    if args.dry_run:
        out.write(f"dry run: {target} not written\n")
        return 0
    return _write(args, cfg, target, calendar_toml(new_office), year, len(diff))


def _write(args: argparse.Namespace, cfg: Any, target: Path, text: str, year: int,
           changed: int) -> int:
    """Write the office's calendar (atomically), then the audit entry; both or neither."""
    from zoneinfo import ZoneInfo

    from console.store import DutyRecord, StoreError

    try:
        store = DutyRecord(cfg.database_url, tz=ZoneInfo(cfg.timezone), create=False)
    except StoreError as exc:
        return _fail(_titled(exc))
    try:
        previous = target.read_bytes() if target.exists() else None
        temporary = target.with_name(f".{target.name}.new")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            return _fail(f"Holiday calendar: cannot write {target}: {exc.strerror}")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        detail = (f"{target.name}: {year} from {args.file.name}, {changed} day(s) changed, "
                  f"sha256={digest}")
        try:
            store.audit(ADD_ACTION, args.who, detail)
        except StoreError as exc:
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(previous)
            return _fail(f"{_titled(exc)} (the calendar was left as it was)")
    finally:
        store.close()
    sys.stdout.write(
        f"written to {target} (audit: {ADD_ACTION} by {args.who}); the console reads it at its "
        "next start\n"
    )
    return 0


# ---------------------------------------------------------------- show


def cmd_show(args: argparse.Namespace) -> int:
    from console.config import ConfigError, build_calendar

    try:
        cfg = _config(args)
        office = _office(cfg.holidays.calendar_file, cfg.holidays.makeup_works_as)
    except (ConfigError, OSError) as exc:
        return _fail(_titled(exc))
    calendar: HolidayCalendar = cfg.calendar
    year = args.year
    if not 1 <= year <= 9998:
        return _fail(f"holidays show: {year} is not a year")
    if year not in calendar.years:
        covered = sorted(calendar.years)
        reach = f"{covered[0]}–{covered[-1]}" if covered else "no year"
        sys.stdout.write(
            f"{year} is not covered by the holiday calendar ({_source_name(cfg)}; office "
            f"calendar: {cfg.holidays.calendar_file or 'none'}; covered: {reach}): its holidays "
            "and make-up days are unknown. Load its notice: duty-console holidays add FILE\n"
        )
        return 1
    base = build_calendar(cfg.holidays, office=False)
    office_name = cfg.holidays.calendar_file.name if cfg.holidays.calendar_file else ""
    counts: dict[DayKind, int] = dict.fromkeys(DayKind, 0)
    out = sys.stdout
    for info in year_days(calendar, year):
        counts[info.kind] += 1
        kind = f"{kind_word(info.kind, Language.ZH)} {kind_word(info.kind, Language.EN)}"
        line = f"{info.day.isoformat()} {info.day:%a}  {kind}"
        if info.name:
            line += f"  {info.name}"
        if info.kind in (DayKind.HOLIDAY, DayKind.MAKEUP_WORKDAY):
            mine = year in office.years or info.day in office.holidays or (
                info.day in office.makeup_days
            )
            line += f"  [{'office: ' + office_name if mine else _source_name(cfg)}]"
        elif (base.kind(info.day), base.name(info.day)) != (info.kind, info.name):
            line += f"  [office: {office_name}]"  # a day the office took back
        out.write(line + "\n")
    out.write(
        f"{year}: {counts[DayKind.HOLIDAY]} holiday day(s), {counts[DayKind.MAKEUP_WORKDAY]} "
        f"make-up working day(s), {counts[DayKind.WEEKEND]} weekend day(s), "
        f"{counts[DayKind.WORKDAY]} working day(s)\n"
    )
    return 0
