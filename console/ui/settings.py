"""The UI's own settings, taken from `console.toml` (`UiSettings.from_config`) or given by tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.domain.agent import AttendancePolicy
from console.domain.calendar import Coverage, coverage
from console.domain.labels import Language
from console.domain.ring import RingLimit
from console.domain.schedule import DEFAULT_ROSTERS, HolidayCalendar, Roster

if TYPE_CHECKING:
    from console.config import HolidaySettings


@dataclass(frozen=True)
class UiSettings:
    """How the seat looks and behaves; every number is a default from the config."""

    language: Language = Language.ZH
    """Labels: Chinese by default, English by config."""
    centre: str = "客服中心"
    """The centre's name, filled into the greeting line."""
    ring_limit: RingLimit = field(default_factory=RingLimit)
    away_limit: dt.timedelta = dt.timedelta(minutes=15)
    late_after: dt.time = dt.time(8, 30)
    """A login after this (local) is late (`[agents] late_after`)."""
    early_before: dt.time = dt.time(17, 35)
    """A logout before this (local) is early (`[agents] early_before`)."""
    greeting_by_tts: bool = True
    """True: the greeting is played by TTS (the panel says so); False: shown to say."""
    headset_device: str | None = None
    """PortAudio device name or index; None = the system default."""
    drafts_dir: Path = Path("var/drafts")
    """Where note drafts are kept until the record has them."""
    night_warning: dt.timedelta = dt.timedelta(minutes=1)
    """How early the automatic night-mode switch is announced."""
    timezone: dt.tzinfo = dt.UTC
    rosters: tuple[Roster, ...] = DEFAULT_ROSTERS
    """The configured duty rosters (`[rosters]`): the review's shift filters are built from them."""
    line_name: str = "hotline"
    tick_seconds: float = 0.25
    """How often live counters (ring seconds, agent timer) redraw."""
    holiday_calendar: HolidayCalendar = field(default_factory=HolidayCalendar)
    """The schedule's calendar; its `years` say how far it reaches (none given: no notice)."""
    calendar_warn_days: int = 60
    """`[holidays] warn_days`: from this many days before the calendar ends, the bar says so."""
    holidays: HolidaySettings | None = None
    """`[holidays]` as configured: where the supervisor's 载入假日通知 dialog writes a year's
    notice (`calendar`); None (no config): the dialog says the calendar is not set."""
    config_source: str = "console.toml"
    """The config file the settings came from, named when `[holidays] calendar` is not set."""

    def calendar_coverage(self, now: dt.datetime) -> Coverage:
        """The holiday calendar's reach on `now`'s local day."""
        day = now.astimezone(self.timezone).date()
        return coverage(self.holiday_calendar, day, self.calendar_warn_days)

    def attendance(self) -> AttendancePolicy:
        """The late / early / away thresholds the seat and the review judge by."""
        return AttendancePolicy(
            late_after=self.late_after,
            early_before=self.early_before,
            away_limit=self.away_limit,
            timezone=self.timezone,
        )

    @classmethod
    def from_config(cls, config: Any, drafts_dir: Path | None = None) -> UiSettings:
        """From a `console.config.ConsoleConfig` (read duck-typed to keep the import light)."""
        from zoneinfo import ZoneInfo

        return cls(
            language=config.prompts.language,
            centre=config.centre,
            ring_limit=config.ring_limit,
            away_limit=dt.timedelta(minutes=config.agents.away_limit_minutes),
            late_after=config.agents.late_after,
            early_before=config.agents.early_before,
            timezone=ZoneInfo(config.timezone),
            rosters=config.rosters,
            drafts_dir=drafts_dir or Path("var/drafts"),
            greeting_by_tts=config.seat.greeting_by_tts,
            headset_device=config.seat.headset_device or None,
            holiday_calendar=config.calendar,
            calendar_warn_days=config.holidays.warn_days,
            holidays=config.holidays,
            config_source=config.source,
        )
