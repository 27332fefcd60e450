"""Failures the UI itself raises, shown as a titled notification (never a traceback)."""

from __future__ import annotations

from console.domain.errors import DomainError, OverrideError, WrapUpError
from console.domain.labels import Language
from console.domain.night import OverrideKind
from console.domain.schedule import ShiftState
from console.ui.night_words import shift_text
from console.ui.texts import TEXTS, text


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
    """(title, message) of any failure in `language`: a `WordedError` or a coded
    `DomainError` from the text table, anything else by its own title and words (the log
    has them in full)."""
    if isinstance(exc, WordedError):
        return exc.heading(language), exc.words(language)
    refusal = getattr(exc, "refusal", None)  # the record refusing by a duty rule (RuleRefused)
    if isinstance(refusal, DomainError) and refusal.code is not None:
        exc = refusal
    if isinstance(exc, DomainError) and exc.code is not None:
        return domain_heading(exc, language), domain_words(exc, language)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    for kind in type(exc).__mro__:  # the duty record's failures (StoreError and its kinds)
        key = f"rv.err.{kind.__name__}"
        if key in TEXTS:  # by name: this module must not import the store (cold start)
            title = text(key, language)
            if language is Language.EN:
                return title, detail
            # The record speaks English: the kind of failure in Chinese, the detail in the log.
            return title, text("rv.err.msg", language).format(title=title, detail=detail)
    return title_of(exc), detail


DOMAIN_TITLES: tuple[tuple[type[DomainError], str], ...] = (
    (OverrideError, "night.title"),
    (WrapUpError, "notes.error"),
)
"""The headline's text key of each kind of rule refusal (others: "common.error")."""

FACT_FIELDS = {"category": "notes.category", "follow_up": "notes.follow_up_due"}
"""A fact a refusal names (the record's name) → its field's label on the notes form."""


def domain_heading(exc: DomainError, language: Language) -> str:
    """The headline of a rule's refusal in `language`."""
    for kind, key in DOMAIN_TITLES:
        if isinstance(exc, kind):
            return text(key, language)
    return text("common.error", language)


def domain_words(exc: DomainError, language: Language) -> str:
    """A coded rule refusal in `language`: the text table's `domain.<code>` sentence with
    the error's values worded (a night-mode kind by its button's words, a shift as the
    night dialog says it, a fact by its field's label, anything typed as it was)."""
    assert exc.code is not None
    values: dict[str, object] = {}
    for name, value in exc.values.items():
        if isinstance(value, OverrideKind):
            value = text("night.early" if value is OverrideKind.EARLY_NIGHT else "night.stay",
                         language)
        elif isinstance(value, ShiftState):
            value = shift_text(value, language)
        elif name == "fact" and value in FACT_FIELDS:
            value = text(FACT_FIELDS[str(value)], language)
        values[name] = value
    return text(f"domain.{exc.code.value}", language).format(**values)


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
