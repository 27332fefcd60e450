"""`duty-console holidays add FILE | show YEAR`: the office loads a year and checks the calendar.

`add` reads a year's notice (our TOML with `year = YYYY`, or an iCalendar .ics feed with
`--year` or `X-DUTY-YEAR`), checks it (make-up days are Saturdays or Sundays, no holiday run
overlaps a make-up day, the year is whole: see `console.domain.calendar.WHOLE_YEAR`), prints
what changes day by day against the calendar in use, writes it into the office's calendar file
(`[holidays] calendar`) and records an audit entry in the duty record: the steps of
`console.holidays.load`, which the supervisor's 载入假日通知 dialog runs too. `show` prints
every day of a year with its kind, so a supervisor can hold it against the State Council's
notice.

Exit status: 0 done; 1 `show` of a year the calendar does not cover; 2 a bad file, config or
record, told in one line (file, date, problem), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from console.domain.calendar import WHOLE_YEAR, kind_word, year_days
from console.domain.labels import Language
from console.domain.schedule import DayKind, HolidayCalendar
from console.holidays.load import (
    AddFailed,
    office_calendar,
    plan_add,
    source_name,
    titled,
    write_add,
)

log = logging.getLogger("console.holidays.cli")

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


def _config(args: argparse.Namespace, office_calendar: bool = True) -> Any:
    from console import config as config_mod

    return config_mod.load(getattr(args, "config", "console.toml"),
                           office_calendar=office_calendar)


# ---------------------------------------------------------------- add


def cmd_add(args: argparse.Namespace) -> int:
    """`console.holidays.load`'s plan printed; then written with its audit entry, unless
    `--dry-run`."""
    from zoneinfo import ZoneInfo

    from console.config import ConfigError
    from console.store import DutyRecord, StoreError

    try:
        cfg = _config(args, office_calendar=False)
    except (ConfigError, OSError) as exc:
        return _fail(titled(exc))
    try:
        plan = plan_add(cfg.holidays, args.file, args.year, cfg.source)
    except AddFailed as exc:
        return _fail(str(exc))
    sys.stdout.write("".join(f"{line}\n" for line in plan.report(Language.EN)))
    if args.dry_run:
        sys.stdout.write(f"dry run: {plan.target} not written\n")
        return 0
    try:
        store = DutyRecord(cfg.database_url, tz=ZoneInfo(cfg.timezone), create=False)
    except StoreError as exc:
        return _fail(titled(exc))
    try:
        write_add(plan, store, args.who)
    except AddFailed as exc:
        return _fail(str(exc))
    finally:
        store.close()
    sys.stdout.write(plan.written(args.who) + "\n")
    return 0


# ---------------------------------------------------------------- show


def cmd_show(args: argparse.Namespace) -> int:
    from console.config import ConfigError, build_calendar

    try:
        cfg = _config(args)
        office = office_calendar(cfg.holidays.calendar_file, cfg.holidays.makeup_works_as)
    except (ConfigError, OSError) as exc:
        return _fail(titled(exc))
    calendar: HolidayCalendar = cfg.calendar
    year = args.year
    if not 1 <= year <= 9998:
        return _fail(f"holidays show: {year} is not a year")
    if year not in calendar.years:
        covered = sorted(calendar.years)
        reach = f"{covered[0]}–{covered[-1]}" if covered else "no year"
        sys.stdout.write(
            f"{year} is not covered by the holiday calendar ({source_name(cfg.holidays)}; office "
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
            line += f"  [{'office: ' + office_name if mine else source_name(cfg.holidays)}]"
        elif (base.kind(info.day), base.name(info.day)) != (info.kind, info.name):
            line += f"  [office: {office_name}]"  # a day the office took back
        out.write(line + "\n")
    out.write(
        f"{year}: {counts[DayKind.HOLIDAY]} holiday day(s), {counts[DayKind.MAKEUP_WORKDAY]} "
        f"make-up working day(s), {counts[DayKind.WEEKEND]} weekend day(s), "
        f"{counts[DayKind.WORKDAY]} working day(s)\n"
    )
    return 0
