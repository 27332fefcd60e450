"""Loading a year's notice into the office's calendar, without a UI.

The one procedure behind `duty-console holidays add FILE` and the supervisor's 载入假日通知
dialog: `plan_add` reads and checks the notice and works out, day by day, what it changes
against the calendar in use; `write_add` writes the office's calendar file (atomically) and
records the audit entry, both or neither. Every failure is one `AddFailed` line (file, date,
problem) that the command prints and the dialog shows; nothing is written then.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from console.domain.calendar import DayChange, changes, overlay, with_year
from console.domain.labels import Language
from console.domain.schedule import HolidayCalendar
from console.ui.errors import WordedError

if TYPE_CHECKING:
    from console.config import HolidaySettings
    from console.holidays.files import Notice

ADD_ACTION = "holidays_add"
"""The audit log's action for a year loaded into the office's calendar."""


class AddFailed(WordedError):
    """A notice that cannot be loaded or written; `str()` is the whole line to show, title
    included (as the command prints it on stderr); `words(language)` the same line in the
    seat's language (the supervisor's dialog)."""

    title = "Holiday calendar"
    title_key = "hol.title"


class Auditor(Protocol):
    """Where the audit entry goes: the duty record (`console.store.DutyRecord.audit`)."""

    def audit(self, action: str, who: str, detail: str) -> None: ...


def titled(exc: Exception) -> str:
    """`Title: message` for an exception with a `title`, else the message."""
    title = getattr(exc, "title", None)
    return f"{title}: {exc}" if isinstance(title, str) else str(exc)


def source_name(holidays: HolidaySettings) -> str:
    """Where the calendar's State Council dates come from, as the command and dialog say it."""
    from console.config import HolidaySource
    from console.holidays.source import package_version

    if holidays.source is HolidaySource.CHINESE_CALENDAR:
        return f"chinese-calendar {package_version()}"
    return "no package (source = none)"


def office_calendar(path: Path | None, makeup_works_as: int) -> HolidayCalendar:
    """The office's calendar file as it is now; an empty calendar when there is none yet."""
    from console.config import load_calendar

    if path is None or not path.exists():
        return HolidayCalendar(makeup_works_as=makeup_works_as)
    return load_calendar(path, makeup_works_as)


@dataclass(frozen=True)
class AddPlan:
    """A checked notice and what writing it would do; nothing is written yet."""

    file: Path
    """The notice as given (its name goes into the audit entry)."""
    notice: Notice
    target: Path
    """The office's calendar file (`[holidays] calendar`) that `write_add` replaces."""
    text: str
    """The office's calendar file with the notice's year in it, as it would be written."""
    changes: list[DayChange]
    """The days of the year the notice makes different from the calendar in use."""
    against: str
    """Where the year's days come from now: the office's calendar or the package."""

    @property
    def year(self) -> int:
        return self.notice.year

    def summary(self) -> str:
        """`FILE: YEAR: n holiday day(s), m make-up working day(s)[; k left out]`."""
        notice = self.notice
        skipped = (f"; {notice.skipped} event(s) of other years left out"
                   if notice.skipped else "")
        return (f"{self.file}: {self.year}: {len(notice.holidays)} holiday day(s), "
                f"{len(notice.makeup_days)} make-up working day(s){skipped}")

    def report(self, language: Language = Language.EN) -> list[str]:
        """The summary, then each changed day (or that none changes), as the command prints."""
        lines = [self.summary(), f"changes against the calendar in use ({self.year} from "
                 f"{self.against}):"]
        lines += [f"  {change.describe(language)}" for change in self.changes]
        if not self.changes:
            lines.append("  none: every day of the year stays as it is")
        return lines

    def written(self, who: str) -> str:
        """What the command says after `write_add`."""
        return (f"written to {self.target} (audit: {ADD_ACTION} by {who}); the console reads it "
                "at its next start")


def plan_add(holidays: HolidaySettings, file: Path, year: int | None = None,
             config_source: str = "console.toml") -> AddPlan:
    """Read and check `file` (`.toml` or `.ics`; `year` takes one year out of an .ics feed)
    and work out the office's new calendar and the day-by-day changes; `AddFailed` otherwise.
    Blocking (reads files): not on the UI thread."""
    from console.config import ConfigError, build_calendar
    from console.holidays.files import NoticeError, calendar_toml, read_notice

    target = holidays.calendar_file
    if target is None:
        raise AddFailed("hol.no_calendar", source=config_source)
    try:
        notice = read_notice(file, year)
        office = office_calendar(target, holidays.makeup_works_as)
    except NoticeError as exc:
        raise AddFailed("hol.cause", cause=exc) from None
    except ConfigError as exc:
        raise AddFailed("hol.office_bad", cause=titled(exc)) from None
    base = build_calendar(holidays, office=False)
    year = notice.year
    new_office = with_year(office, notice.calendar(holidays.makeup_works_as), year)
    diff = changes(overlay(base, office), overlay(base, new_office), year)
    against = "the office's calendar" if year in office.years else source_name(holidays)
    return AddPlan(file, notice, target, calendar_toml(new_office), diff, against)


def write_add(plan: AddPlan, record: Auditor, who: str) -> str:
    """Write the office's calendar (atomically), then the audit entry by `who`; both or
    neither (a failed audit puts the previous file back). Returns the audit detail."""
    from console.store import StoreError

    target, text = plan.target, plan.text
    previous = target.read_bytes() if target.exists() else None
    temporary = target.with_name(f".{target.name}.new")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise AddFailed("hol.cannot_write", target=target, detail=exc.strerror) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    detail = (f"{target.name}: {plan.year} from {plan.file.name}, {len(plan.changes)} day(s) "
              f"changed, sha256={digest}")
    try:
        record.audit(ADD_ACTION, who, detail)
    except StoreError as exc:
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)
        raise AddFailed("hol.audit_failed", cause=titled(exc)) from None
    return detail
