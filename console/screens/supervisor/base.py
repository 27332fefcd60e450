"""What the supervisor's review screens share: the duty record, the reviewer, the labels.

Review screens need the whole `DutyRecord` (the seat only needs the small `SeatStore`
port), and they must never open for an agent: `review_context` checks both and raises a
titled `ReviewRefused` otherwise, which the screens show instead of any data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.dom import DOMNode

from console.domain.labels import CATEGORIES, Language
from console.domain.schedule import Roster
from console.store import AgentRole, DutyRecord
from console.store.records import OUTCOME_ZH, CallOutcome
from console.ui.errors import UiError
from console.ui.texts import TEXTS, text

if TYPE_CHECKING:
    from console.app import DutyConsoleApp


def localize_bindings(node: DOMNode, language: Language) -> None:
    """Footer and palette words in the seat's language.

    Textual's `BINDINGS` are class-level, so their descriptions are fixed at import; each
    node holds its own copy (`_bindings`). A binding whose description is a text key (e.g.
    ``"rv.tab.log"``) gets that text in `language` here, once, when the node is built.
    """
    bindings = node._bindings
    bindings.key_to_bindings = {
        key: [
            replace(b, description=text(b.description, language))
            if b.description in TEXTS
            else b
            for b in found
        ]
        for key, found in bindings.key_to_bindings.items()
    }


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


OUTCOME_LABELS: dict[CallOutcome, str] = OUTCOME_ZH
CATEGORY_LABELS: dict[str, str] = CATEGORIES
"""The domain's category labels (`console.domain.labels.CATEGORIES`)."""


@dataclass(frozen=True)
class ShiftFilter:
    """One shift of the call log's filter: what the supervisor reads, what the store selects."""

    label: str
    """The roster's name and its configured times, e.g. "早班 08:00–17:30"."""
    hours: tuple[int, int]
    """Local ring hours [from, to), wrapping past midnight when from > to. Whole hours: the
    store filters by `ring_hour`, so a roster ending at 17:30 selects calls until 18:00 (the
    label then says which hours it selects)."""


def _hours_label(label: str, start: dt.time, end: dt.time, hours: tuple[int, int]) -> str:
    text = f"{label} {start:%H:%M}–{end:%H:%M}"
    if (start.hour, end.hour) != hours or start.minute or end.minute:
        text += f" (按整点 {hours[0]:02d}–{hours[1]:02d})"
    return text


def shift_filters(rosters: Iterable[Roster]) -> dict[str, ShiftFilter]:
    """The call log's shift filters from the configured rosters (duty rules §1), in their
    order, and "night" from the last roster's end to the first one's start."""
    rosters = tuple(rosters)
    filters: dict[str, ShiftFilter] = {}
    for ro in rosters:
        hours = (ro.start.hour, min(24, ro.end.hour + (1 if ro.end.minute else 0)))
        filters[ro.name] = ShiftFilter(_hours_label(ro.label or ro.name, ro.start, ro.end, hours),
                                       hours)
    if rosters and "night" not in filters:
        end = max(ro.end for ro in rosters)
        start = min(ro.start for ro in rosters)
        hours = ((end.hour + (1 if end.minute else 0)) % 24, start.hour)
        if hours[0] != hours[1]:
            filters["night"] = ShiftFilter(_hours_label("夜间", end, start, hours), hours)
    return filters


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
