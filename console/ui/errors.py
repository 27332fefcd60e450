"""Failures the UI itself raises, shown as a titled notification (never a traceback)."""

from __future__ import annotations


class UiError(Exception):
    """Base of every UI failure; `title` is the notification's headline."""

    title = "Console"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class NotWired(UiError):
    """The call flow does not offer this action yet; the key says so instead of failing."""

    title = "Not available"


class NotLoggedIn(UiError):
    """An action that needs an agent (answer, away, night switch) before anyone logged in."""

    title = "Not logged in"


def title_of(exc: BaseException, default: str = "Error") -> str:
    """The headline for any failure: its own `title` (every failure domain has one)."""
    title = getattr(exc, "title", None)
    return title if isinstance(title, str) and title else default
