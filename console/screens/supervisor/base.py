"""What the supervisor's review screens share: the duty record, the reviewer, the labels.

Review screens need the whole `DutyRecord` (the seat only needs the small `SeatStore`
port), and they must never open for an agent: `review_context` checks both and raises a
titled `ReviewRefused` otherwise, which the screens show instead of any data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.store import AgentRole, DutyRecord
from console.store.records import CATEGORIES, OUTCOME_ZH, CallOutcome
from console.ui.errors import UiError

if TYPE_CHECKING:
    from console.app import DutyConsoleApp


class ReviewRefused(UiError):
    """Someone who is not a supervisor (or no duty record) reached a review screen."""

    title = "无权查看 Review refused"


@dataclass(frozen=True)
class ReviewContext:
    """The duty record, the supervisor reviewing, and the local time zone."""

    record: DutyRecord
    reviewer: str
    tz: dt.tzinfo


def review_context(app: DutyConsoleApp) -> ReviewContext:
    """The review context of the logged-in supervisor; `ReviewRefused` for anyone else."""
    who = app.agent_record
    if who is None or who.role is not AgentRole.SUPERVISOR:
        raise ReviewRefused("only a supervisor (客服主任/班长) may open the review screens")
    if not isinstance(app.store, DutyRecord):
        raise ReviewRefused("the review screens need the duty record database")
    return ReviewContext(app.store, who.agent_id, app.settings.timezone)


SATISFACTION_LABELS: dict[int | None, str] = {1: "满意", 2: "一般", 3: "不满意", None: "未评价"}
OUTCOME_LABELS: dict[CallOutcome, str] = OUTCOME_ZH
CATEGORY_LABELS: dict[str, str] = CATEGORIES

SHIFTS: dict[str, tuple[str, tuple[int, int]]] = {
    "day": ("早班 08–18", (8, 18)),
    "noon": ("中午 11–14", (11, 14)),
    "evening": ("晚班 17–21", (17, 21)),
    "night": ("夜间 21–08", (21, 8)),
}
"""Shift filters as local ring-hour ranges [from, to) (whole hours: the store's `ring_hour`)."""


def local(value: dt.datetime | None, tz: dt.tzinfo, fmt: str = "%m-%d %H:%M:%S") -> str:
    """A stored (UTC) time as the supervisor reads it; empty for none."""
    return "" if value is None else value.astimezone(tz).strftime(fmt)


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def parse_day(value: str, what: str) -> dt.date:
    """A `YYYY-MM-DD` typed by the supervisor; a clear error otherwise."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ReviewInputError(f"{what}: {value!r} is not a date like 2026-03-02") from None


class ReviewInputError(UiError):
    """A filter or form value the supervisor typed cannot be used."""

    title = "输入有误 Bad input"
