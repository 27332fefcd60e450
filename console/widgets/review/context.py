"""What the review's tabs and screens share: the duty record, the reviewer, the errors.

Review tabs need the whole `DutyRecord` (the seat only needs the small `SeatStore`
port), and they must never open for an agent: `review_context` checks both and raises a
titled `ReviewRefused` otherwise, which the tabs and screens show instead of any data.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.domain.labels import Language
from console.store import AgentRole, DutyRecord, StoreError
from console.ui.errors import UiError, title_of
from console.ui.texts import TEXTS, text

if TYPE_CHECKING:
    from console.ui.view import ReviewView

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
