"""How the review words the record's values: outcomes, categories, ratings, the call log's
shift filters, times and figures, in the supervisor's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from console.domain.labels import (
    CALL_OUTCOME_LABELS,
    CATEGORIES,
    NO_RATING,
    Category,
    Language,
    Outcome,
    Satisfaction,
    result_label,
)
from console.domain.schedule import Roster
from console.store.values import OUTCOME_ZH, CallOutcome
from console.ui.texts import text

OUTCOME_LABELS: dict[CallOutcome, str] = OUTCOME_ZH
CATEGORY_LABELS: dict[str, str] = CATEGORIES
"""The domain's category labels (`console.domain.labels.CATEGORIES`)."""


def outcome_label(outcome: CallOutcome | None, language: Language) -> str:
    """The record's outcome by the domain's label; "in progress" for an open call."""
    if outcome is None:
        return text("rv.in_progress", language)
    zh, en = CALL_OUTCOME_LABELS.get(outcome, (outcome.value, outcome.value))
    return zh if language is Language.ZH else en


def listed_outcome(outcome: CallOutcome | None, result: str | None, language: Language) -> str:
    """What the call log says a call came to: the domain's 处理结果 when the record has one
    (a message taken, a follow-up promised: never plain "answered"), else the outcome."""
    if outcome is not None and result and any(o.value == result for o in Outcome):
        return result_label(result, language)
    return outcome_label(outcome, language)


def category_label(value: str | None, language: Language) -> str:
    """A stored category by the domain's label (an unknown value as stored)."""
    for c in Category:
        if c.value == value:
            return c.label(language)
    return value or ""


def satisfaction_label(score: int | None, language: Language) -> str:
    """A survey score by the domain's label; None is "no rating"."""
    for s in Satisfaction:
        if s.score == score:
            return s.label(language)
    return NO_RATING[0] if language is Language.ZH else NO_RATING[1]


@dataclass(frozen=True)
class ShiftFilter:
    """One shift of the call log's filter: what the supervisor reads, what the store selects."""

    label: str
    """The roster's name and its configured times, e.g. "早班 08:00–17:30"."""
    hours: tuple[int, int]
    """Local ring hours [from, to), wrapping past midnight when from > to. Whole hours: the
    store filters by `ring_hour`, so a roster ending at 17:30 selects calls until 18:00 (the
    label then says which hours it selects)."""


def _hours_label(
    label: str, start: dt.time, end: dt.time, hours: tuple[int, int], language: Language
) -> str:
    words = f"{label} {start:%H:%M}–{end:%H:%M}"
    if (start.hour, end.hour) != hours or start.minute or end.minute:
        whole = text("rv.whole_hours", language).format(start=hours[0], end=hours[1])
        words += f" ({whole})"
    return words


def shift_filters(
    rosters: Iterable[Roster], language: Language = Language.ZH
) -> dict[str, ShiftFilter]:
    """The call log's shift filters from the configured rosters (duty rules §1), in their
    order, and "night" from the last roster's end to the first one's start."""
    rosters = tuple(rosters)
    filters: dict[str, ShiftFilter] = {}
    for ro in rosters:
        hours = (ro.start.hour, min(24, ro.end.hour + (1 if ro.end.minute else 0)))
        filters[ro.name] = ShiftFilter(
            _hours_label(ro.label or ro.name, ro.start, ro.end, hours, language), hours
        )
    if rosters and "night" not in filters:
        end = max(ro.end for ro in rosters)
        start = min(ro.start for ro in rosters)
        hours = ((end.hour + (1 if end.minute else 0)) % 24, start.hour)
        if hours[0] != hours[1]:
            filters["night"] = ShiftFilter(
                _hours_label(text("rv.night", language), end, start, hours, language), hours
            )
    return filters


def local(value: dt.datetime | None, tz: dt.tzinfo, fmt: str = "%m-%d %H:%M:%S") -> str:
    """A stored (UTC) time as the supervisor reads it; empty for none."""
    return "" if value is None else value.astimezone(tz).strftime(fmt)


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"
