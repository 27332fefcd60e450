"""Failures the UI itself raises, shown as a titled notification (never a traceback)."""

from __future__ import annotations

from console.domain.labels import Language
from console.ui.texts import text


class UiError(Exception):
    """Base of every UI failure; `title` is the notification's headline."""

    title = "Console"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class TextKey(str):
    """A value of a `WordedError` that is itself a text key (a field's name, say): it is
    worded in the language the error is shown in, like the sentence around it."""


class WordedError(UiError):
    """A failure worded from the text table (`key` with its values), so it reads in the
    seat's language wherever it is shown; `str()` is the English (what the log keeps).

    `title_key` is the headline's text key; `title` stays the English one."""

    title_key = "common.error"

    def __init__(self, key: str, **values: object) -> None:
        self.key = key
        self.values = values
        super().__init__(self.words(Language.EN))

    def words(self, language: Language) -> str:
        """The message in `language` (values that are `TextKey`s worded too)."""
        return text(self.key, language).format(**{
            name: _worded_value(v, language) for name, v in self.values.items()
        })

    def heading(self, language: Language) -> str:
        """The headline in `language`."""
        return text(self.title_key, language)


def _worded_value(value: object, language: Language) -> object:
    """A value in an error's sentence: a text key worded, another worded error as its
    "title: words" line, anything else as it is."""
    if isinstance(value, TextKey):
        return text(value, language)
    if isinstance(value, WordedError):
        sep = ":" if language is Language.ZH else ": "
        return f"{value.heading(language)}{sep}{value.words(language)}"
    return value


def worded(exc: BaseException, language: Language) -> tuple[str, str]:
    """(title, message) of any failure in `language`: a `WordedError` from the text table,
    anything else by its own title and words (the log has them in full)."""
    if isinstance(exc, WordedError):
        return exc.heading(language), exc.words(language)
    return title_of(exc), " ".join(str(exc).split()) or type(exc).__name__


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
