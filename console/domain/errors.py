"""Failures of the duty rules themselves, kept apart from SIP, store and UI errors.

One base (`DomainError`) with a user-facing `title`, one subclass per kind of mistake,
so the call flow and the screens can show a rule violation without knowing its details.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every duty-rule failure; `title` is what a screen or a log headline shows."""

    title = "Duty rules"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class ScheduleError(DomainError):
    """A roster or calendar that cannot be used (end before start, naive time, ...)."""

    title = "Schedule"


class OverrideError(DomainError):
    """A night-mode override that makes no sense now, or has no reason."""

    title = "Night mode override"


class TransitionError(DomainError):
    """An event that the state machine's current state does not accept."""

    title = "Not allowed now"


class TemplateError(DomainError):
    """A prompt text with an unknown, positional or malformed placeholder."""

    title = "Prompt text"
