"""Prompt and greeting texts with checked placeholders, and the forbidden-phrase detector.

A greeting like "您好!{centre},工号 {agent_id} 为您服务" is written by whoever edits the
config; a typo such as `{agent}` must stop start-up, not reach a caller as a KeyError in
the middle of a call. The forbidden phrases (服务忌语, duty rules §3) are flagged in notes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from console.domain.errors import TemplateError

PLACEHOLDERS = frozenset({"centre", "agent_id"})
"""Every name a prompt text may use."""


@dataclass(frozen=True)
class PromptText:
    """A prompt text whose placeholders are validated when it is made."""

    name: str
    """Which prompt this is (greeting, hold, survey, ...), for error messages."""
    template: str

    def __post_init__(self) -> None:
        if not isinstance(self.template, str):
            raise TemplateError(f"{self.name}: {self.template!r} is not text")
        if not self.template.strip():
            raise TemplateError(f"{self.name}: empty text")
        self.fields  # noqa: B018 - validates

    @property
    def fields(self) -> frozenset[str]:
        """The placeholders the text uses."""
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise TemplateError(
                f"{self.name}: {self.template!r}: {exc} (write {{{{ and }}}} for literal braces)"
            ) from None
        used: set[str] = set()
        for _literal, field_name, spec, conversion in parsed:
            if field_name is None:
                continue
            if field_name == "" or field_name.isdigit():
                raise TemplateError(
                    f"{self.name}: {self.template!r} has a positional placeholder {{}}; "
                    f"use one of {_names()}"
                )
            if field_name not in PLACEHOLDERS:
                raise TemplateError(
                    f"{self.name}: {self.template!r} has unknown placeholder {{{field_name}}}; "
                    f"expected one of {_names()}"
                )
            if spec or conversion:
                raise TemplateError(
                    f"{self.name}: {self.template!r}: placeholder {{{field_name}}} takes no "
                    "format spec or conversion"
                )
            used.add(field_name)
        return frozenset(used)

    def render(self, centre: str, agent_id: str = "") -> str:
        """The text to speak or show; `agent_id` may be empty when no agent is known."""
        return self.template.format(centre=centre, agent_id=agent_id)


def _names() -> str:
    return ", ".join("{" + n + "}" for n in sorted(PLACEHOLDERS))


# ---------------------------------------------------------------- forbidden phrases (服务忌语)

FORBIDDEN_PHRASES: tuple[tuple[str, str], ...] = (
    ("你不是说……吗?", r"你不是说.{0,40}?吗"),
    ("不是告诉你了,怎么还不明白?", r"不是告诉[你您]了.{0,6}?怎么还不明白"),
    ("大点声,听不见!", r"大点声.{0,4}?听不见"),
    ("不是我办的,不知道,不清楚", r"不是我办的|不知道.{0,3}?不清楚"),
)
"""(the phrase as the regulations write it, a pattern that also finds its variants)."""

_IGNORED = re.compile(r"[\s,。!?、;:,.!?;:…\-—~\"'“”‘’()()]+")


@dataclass(frozen=True)
class PhraseHit:
    """One forbidden phrase found in a note."""

    phrase: str
    """The phrase as the regulations write it."""
    excerpt: str
    """The matching words as written in the note."""
    start: int
    """Index in the note where the match starts."""


def find_forbidden_phrases(note: str) -> list[PhraseHit]:
    """Forbidden phrases in `note`, in order; punctuation and spaces between words are ignored."""
    kept: list[int] = []  # index in note of each kept character
    chars: list[str] = []
    for i, ch in enumerate(note):
        if not _IGNORED.fullmatch(ch):
            kept.append(i)
            chars.append(ch)
    squeezed = "".join(chars)
    hits: list[PhraseHit] = []
    for phrase, pattern in FORBIDDEN_PHRASES:
        for m in re.finditer(pattern, squeezed):
            start, end = kept[m.start()], kept[m.end() - 1] + 1
            hits.append(PhraseHit(phrase=phrase, excerpt=note[start:end], start=start))
    hits.sort(key=lambda h: h.start)
    return hits
