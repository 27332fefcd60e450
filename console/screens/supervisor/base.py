"""What the supervisor's review screens share: the duty record, the reviewer, the labels.

Review screens need the whole `DutyRecord` (the seat only needs the small `SeatStore`
port), and they must never open for an agent: `review_context` checks both and raises a
titled `ReviewRefused` otherwise, which the screens show instead of any data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from console.screens.keys import localize_bindings
from console.store import AgentRole, DutyRecord, StoreError
from console.store.values import OUTCOME_ZH, CallOutcome
from console.ui.errors import UiError, title_of
from console.ui.texts import TEXTS, text

if TYPE_CHECKING:
    from console.ui.view import ReviewView

__all__ = ["localize_bindings"]  # re-exported for the review's screens

log = logging.getLogger("console.ui.review")


class Key(str):
    """A value of a `ReviewError` that is itself a text key (a field's name, say): it is
    worded in the language the error is shown in, like the sentence around it."""


class ReviewError(UiError):
    """A failure of the review worded from the text table (`key` with its values), so it
    reads in the seat's language wherever it is shown; `str()` is the English (the log's)."""

    title = "Review"
    title_key = "rv.error.title"

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(self.words(Language.EN))

    def words(self, language: Language) -> str:
        values = {
            name: text(v, language) if isinstance(v, Key) else v
            for name, v in self.values.items()
        }
        return text(self.key, language).format(**values)


class ReviewRefused(ReviewError):
    """Someone who is not a supervisor (or no duty record) reached a review screen."""

    title = "Review refused"
    title_key = "rv.refused.title"


def describe(exc: BaseException, language: Language) -> tuple[str, str]:
    """(title, message) of a failure as the review shows it, in `language`.

    The review's own failures are worded from the text table. The duty record's (and any
    other part's) speak English: a Chinese screen gets the kind of failure in Chinese and
    a pointer to the log, which has the English detail; an English screen gets the detail.
    """
    if isinstance(exc, ReviewError):
        return text(exc.title_key, language), exc.words(language)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, StoreError):  # the headset's, the holiday files': as they say it
        return title_of(exc), detail
    title = title_of(exc)
    for cls in type(exc).__mro__:
        key = f"rv.err.{cls.__name__}"
        if key in TEXTS:
            title = text(key, language)
            break
    if language is Language.EN:
        return title, detail
    log.warning("%s: %s", title_of(exc), detail)
    return title, text("rv.err.msg", language).format(title=title, detail=detail)


@dataclass(frozen=True)
class ReviewContext:
    """The duty record, the supervisor reviewing, and the local time zone."""

    record: DutyRecord
    reviewer: str
    tz: dt.tzinfo


def review_context(app: ReviewView) -> ReviewContext:
    """The review context of the logged-in supervisor; `ReviewRefused` for anyone else."""
    who = app.agent_record
    if who is None or who.role is not AgentRole.SUPERVISOR:
        raise ReviewRefused("rv.refused.role")
    if not isinstance(app.store, DutyRecord):
        raise ReviewRefused("rv.refused.store")
    return ReviewContext(app.store, who.agent_id, app.settings.timezone)


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


def parse_day(value: str, what: str) -> dt.date:
    """A `YYYY-MM-DD` typed by the supervisor; a clear error otherwise (`what`: the text key
    of the field's name)."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ReviewInputError("rv.bad_date", what=Key(what), value=value) from None


class ReviewInputError(ReviewError):
    """A filter or form value the supervisor typed cannot be used."""

    title = "Bad input"
    title_key = "rv.bad_input"
