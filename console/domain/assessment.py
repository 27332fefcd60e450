"""The assessment reports of duty rules §6: which days a weekly or monthly report covers,
the day the weekly one is due, and what each agent's figures must meet.

The weekly report is written on Friday (周报) and the monthly one for 月度绩效考核. Both
are read from the duty record; the rules of what counts as short of the mark live here,
so the report on screen, the CLI and the XLSX export judge an agent the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from console.domain.errors import DomainError
from console.domain.labels import Labelled

REPORT_WEEKDAY = 4
"""Friday (Monday is 0): the weekly report is due, and the seat reminds supervisors."""
QA_LISTENS_PER_WEEK = 2
"""Quality review: at least 2 calls listened to and scored per agent per week (§6)."""
ANSWER_RATE_TARGET = 0.80
"""接通率 target (§6): answered calls over calls that rang."""


class ReportKind(Labelled):
    WEEK = ("week", "周报", "Weekly report")
    MONTH = ("month", "月报", "Monthly report")


@dataclass(frozen=True)
class ReportPeriod:
    """The local days [first, last] a report covers."""

    kind: ReportKind
    first: dt.date
    last: dt.date

    @classmethod
    def week_of(cls, day: dt.date) -> ReportPeriod:
        """The Monday-to-Sunday week holding `day` (the KPI tab's week too)."""
        first = day - dt.timedelta(days=day.weekday())
        return cls(ReportKind.WEEK, first, first + dt.timedelta(days=6))

    @classmethod
    def month_of(cls, day: dt.date) -> ReportPeriod:
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return cls(ReportKind.MONTH, first, following - dt.timedelta(days=1))

    @classmethod
    def parse(cls, kind: ReportKind, text: str) -> ReportPeriod:
        """`YYYY-MM-DD` (any day of the week) or `YYYY-MM` (the month); one-line errors."""
        value = text.strip()
        try:
            if kind is ReportKind.MONTH:
                day = dt.datetime.strptime(value, "%Y-%m").date()
            else:
                day = dt.date.fromisoformat(value)
        except ValueError:
            shape = "YYYY-MM" if kind is ReportKind.MONTH else "YYYY-MM-DD"
            raise DomainError(f"{kind.value} {text!r}: expected {shape}", "Report") from None
        return cls.month_of(day) if kind is ReportKind.MONTH else cls.week_of(day)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def weeks(self) -> int:
        """Weeks the period spans, a started week counting whole (a month: 4 or 5)."""
        return math.ceil(self.days / 7)

    @property
    def due_on(self) -> dt.date:
        """The day the report is due: the week's Friday, the month's last day."""
        if self.kind is ReportKind.WEEK:
            return self.first + dt.timedelta(days=REPORT_WEEKDAY)
        return self.last

    def dates(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range(self.days)]

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[since, until) in the line's time zone."""
        end = self.last + dt.timedelta(days=1)
        return (
            dt.datetime(self.first.year, self.first.month, self.first.day, tzinfo=tz),
            dt.datetime(end.year, end.month, end.day, tzinfo=tz),
        )

    @property
    def label(self) -> str:
        if self.kind is ReportKind.MONTH:
            return f"{self.first:%Y-%m}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def qa_listens_required(period: ReportPeriod) -> int:
    """Quality reviews each agent needs in the period."""
    return QA_LISTENS_PER_WEEK * period.weeks


def is_report_day(day: dt.date) -> bool:
    """Friday: the weekly report is due today."""
    return day.weekday() == REPORT_WEEKDAY


class Finding(Labelled):
    """What an agent's period falls short on; the report lists them beside the figures."""

    QA_SHORT = ("qa_short", "质检监听不足", "Too few quality reviews")
    LATE = ("late", "迟到", "Late logins")
    EARLY = ("early", "早退", "Early logouts")
    AWAY_OVERDUE = ("away_overdue", "示忙超时", "Overdue absences")
    FOLLOW_UPS_OVERDUE = ("follow_ups_overdue", "跟进逾期", "Overdue follow-ups")


def findings(
    period: ReportPeriod,
    *,
    listens: int,
    late_days: int,
    early_days: int,
    overdue_aways: int,
    overdue_follow_ups: int,
) -> tuple[Finding, ...]:
    """The agent's findings for the period, in the table's order."""
    found = []
    if listens < qa_listens_required(period):
        found.append(Finding.QA_SHORT)
    if late_days:
        found.append(Finding.LATE)
    if early_days:
        found.append(Finding.EARLY)
    if overdue_aways:
        found.append(Finding.AWAY_OVERDUE)
    if overdue_follow_ups:
        found.append(Finding.FOLLOW_UPS_OVERDUE)
    return tuple(found)


def answer_rate_met(answered: int, total: int) -> bool | None:
    """接通率 at or over the target; None when no call rang."""
    if total <= 0:
        return None
    return answered / total >= ANSWER_RATE_TARGET
