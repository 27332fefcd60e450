"""Failures of the duty rules themselves, kept apart from SIP, store and UI errors.

One base (`DomainError`) with a user-facing `title`, one subclass per kind of mistake,
so the call flow and the screens can show a rule violation without knowing its details.

A failure a person meets at the seat carries an `ErrorCode` and the values its sentence
needs: `str()` stays the English line the log and the CLI keep, and the seat words the code
from its text tables in the seat's language (`console.ui.errors.worded`), so the domain
never holds a screen's words and a Chinese seat never shows the English one.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Every refusal of a rule that a person at the seat can meet; the seat's text table has
    a sentence for each (`domain.<code>`), with the values the error carries."""

    OVERRIDE_NO_REASON = "override.no_reason"
    """A night-mode override without a reason (values: kind)."""
    OVERRIDE_NO_AGENT = "override.no_agent"
    """A night-mode override without an agent ID (values: kind)."""
    OVERRIDE_AFTER_HOURS = "override.after_hours"
    """Night mode early when the schedule is already after hours (values: shift)."""
    OVERRIDE_STAFFED = "override.staffed"
    """Staying on when the schedule is staffed anyway (values: shift)."""
    WRAP_UP_NO_CATEGORY = "wrap_up.no_category"
    """After-call work finished without the call's category (values: fact)."""
    WRAP_UP_BAD_CATEGORY = "wrap_up.bad_category"
    """A category that is none of the rules' six (values: fact, value)."""
    WRAP_UP_BAD_DUE = "wrap_up.bad_due"
    """A follow-up due time that does not read as YYYY-MM-DD HH:MM (values: fact, value)."""
    FOLLOW_UP_CALLBACK_FIRST = "follow_up.callback_first"
    """An agent closing by hand a follow-up that has a caller's number (no values)."""


class DomainError(Exception):
    """Base of every duty-rule failure; `title` is what a screen or a log headline shows.

    `code` (None for failures only a configuration or a program makes) names the refusal
    for the seat's text tables; `values` are the facts its sentence is built from."""

    title = "Duty rules"

    def __init__(
        self, message: str, title: str | None = None, *, code: ErrorCode | None = None,
        **values: object,
    ) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title
        self.code = code
        """The refusal's code, or None (then the English `str()` is all there is)."""
        self.values = values
        """The values of the coded sentence (a shift, a kind, what was typed)."""


class ScheduleError(DomainError):
    """A roster or calendar that cannot be used (end before start, naive time, ...)."""

    title = "Schedule"


class OverrideError(DomainError):
    """A night-mode override that makes no sense now, or has no reason."""

    title = "Night mode override"


class WrapUpError(DomainError):
    """After-call work that cannot be finished yet (`console.domain.wrap_up`)."""

    title = "After-call work"


class TransitionError(DomainError):
    """An event that the state machine's current state does not accept."""

    title = "Not allowed now"


class TemplateError(DomainError):
    """A prompt text with an unknown, positional or malformed placeholder."""

    title = "Prompt text"
