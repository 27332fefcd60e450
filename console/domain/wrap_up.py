"""Finishing after-call work (话后处理): what a call's notes must hold before the agent
closes the call (F10 at the seat).

Every call is classified (duty rules §3 step 4), so after-call work does not finish without
one of the rules' six categories; a promised reply has a time (§3 step 6), so a follow-up due
time must read as one. The seat's call screen and the app both ask this one rule (the screen
to keep the focus on the field to fix, the app before anything is written); a refusal is a
coded `WrapUpError` that names the fact to fix, worded by the seat in its language.
"""

from __future__ import annotations

import datetime as dt

from console.domain.errors import ErrorCode, WrapUpError
from console.domain.labels import Category

REQUIRED_TO_FINISH: tuple[str, ...] = ("category",)
"""The facts (the duty record's names) a finished call must have."""

DUE_FORMAT = "%Y-%m-%d %H:%M"
"""How a follow-up due time is written: local time of the line's time zone, to the minute."""


def follow_up_due(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """The follow-up's due time from `text` ("YYYY-MM-DD HH:MM" in `tz`), None when empty;
    a coded `WrapUpError` (fact "follow_up") when it does not read."""
    value = text.strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, DUE_FORMAT).replace(tzinfo=tz)
    except ValueError:
        raise WrapUpError(f"follow-up due {value!r}: expected YYYY-MM-DD HH:MM",
                          code=ErrorCode.WRAP_UP_BAD_DUE, fact="follow_up", value=value) from None


def check_finished(category: str, due: str, tz: dt.tzinfo) -> dt.datetime | None:
    """Whether after-call work may finish with these notes: the first problem (the one the
    agent fixes first) as a coded `WrapUpError` naming its fact; else the follow-up's due
    time (None: no follow-up promised)."""
    value = category.strip()
    if not value:
        raise WrapUpError("after-call work needs the call's category (duty rules §3 step 4)",
                          code=ErrorCode.WRAP_UP_NO_CATEGORY, fact="category")
    if value not in {c.value for c in Category}:
        raise WrapUpError(f"category {value!r} is none of the rules' categories",
                          code=ErrorCode.WRAP_UP_BAD_CATEGORY, fact="category", value=value)
    return follow_up_due(due, tz)
