"""The holiday calendar's end, told in time: the log from `warn_days` before it, an alarm past it.

`CalendarWatch.check` runs when the console starts (the headless line and the seat alike, in
`console.runner.assemble`) and then once a local day from a small thread: within `warn_days`
of the calendar's last covered date the log warns "holiday calendar ends YYYY-MM-DD"; past it
every start and every new day logs an error and writes `alarm:holiday_calendar_ended` to the
duty record's audit log, because from then on holidays route as working days (duty rules §1).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from console.domain.calendar import Coverage, CoverageLevel, coverage
from console.domain.labels import Language
from console.domain.schedule import HolidayCalendar
from console.ui.calendar import coverage_text, fix_text

log = logging.getLogger("console.holidays")

ALARM_ACTION = "alarm:holiday_calendar_ended"
"""The audit log's action for the alarm (as the call flow's alarms: `alarm:<kind>`)."""


class WallClock(Protocol):
    def now(self) -> dt.datetime: ...


Audit = Callable[[str, str, str], None]
"""`DutyRecord.audit(action, who, detail)`."""


class CalendarWatch:
    """Checks the calendar's reach at start and once a local day; logs and audits the alarm."""

    def __init__(
        self,
        calendar: HolidayCalendar,
        warn_days: int,
        clock: WallClock,
        tz: dt.tzinfo,
        audit: Audit | None = None,
        interval: float = 60.0,
    ) -> None:
        self.calendar = calendar
        self.warn_days = warn_days
        self.clock = clock
        self.tz = tz
        self.audit = audit
        self.interval = interval
        """Seconds between two looks at the clock (the day is told once, at its first look)."""
        self._told: dt.date | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def coverage(self) -> Coverage:
        """The calendar's reach as of the clock's local today."""
        today = self.clock.now().astimezone(self.tz).date()
        return coverage(self.calendar, today, self.warn_days)

    def check(self) -> Coverage:
        """Look now; the first look of a local day logs (and past the end, audits) it."""
        now = self.clock.now()
        cov = coverage(self.calendar, now.astimezone(self.tz).date(), self.warn_days)
        if cov.on != self._told:
            self._told = cov.on
            self._tell(cov, now)
        return cov

    def _tell(self, cov: Coverage, now: dt.datetime) -> None:
        words = coverage_text(cov, Language.EN, always=True)
        if cov.level is CoverageLevel.ENDED:
            log.error("ALARM: %s; %s", words.removeprefix("⚠ "), fix_text(Language.EN))
            if self.audit is not None:
                try:
                    self.audit(ALARM_ACTION, "console", f"{now.isoformat()} {words}")
                except Exception:  # the record down must not stop the line; the log has it
                    log.exception("audit log: %s not recorded", ALARM_ACTION)
        elif cov.level is CoverageLevel.ENDING:
            log.warning("%s; %s", words, fix_text(Language.EN))
        else:
            log.info("%s", words)

    def start(self) -> None:
        """Look once a minute from a daemon thread until `stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="calendar-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:
                log.exception("calendar watch failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
