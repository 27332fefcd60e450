"""The help screen (F1 or ?): what every status word on the seat and the review means.

The words are the text table's own (`gate.unknown` is what the status bar shows), so the
help can never describe a word the screens no longer use; each is followed by what it means
and what to do. Agents' and supervisors' screens bind it alike (`HELP_BINDINGS`).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label, Static

from console.domain.labels import Language
from console.screens.base import SeatModal
from console.screens.keys import localize_bindings
from console.ui.texts import text

HELP_BINDINGS: list[BindingType] = [
    Binding("f1", "help", "help.key"),
    Binding("question_mark", "help", "help.key", show=False),
]
"""Add these to a screen's BINDINGS with an `action_help` that pushes `HelpScreen()`."""

STATUS_WORDS: tuple[tuple[str, str, str], ...] = (
    ("line.label", "line.registered", "help.line.registered"),
    ("line.label", "line.registering", "help.line.registering"),
    ("line.label", "line.failed", "help.line.failed"),
    ("line.label", "line.stopped", "help.line.stopped"),
    ("gate.label", "gate.ok", "help.gate.ok"),
    ("gate.label", "gate.alarm", "help.gate.alarm"),
    ("gate.label", "gate.unknown", "help.gate.unknown"),
    ("headset.label", "headset.ready", "help.headset.ready"),
    ("headset.label", "headset.none", "help.headset.none"),
    ("headset.label", "headset.error", "help.headset.error"),
    ("mode.day", "", "help.mode.day"),
    ("mode.night", "", "help.mode.night"),
    ("mode.override", "", "help.mode.override"),
    ("agent.overdue", "", "help.agent.overdue"),
)
"""(label key, state key or "", explanation key): each status word the screens show."""


def help_text(language: Language) -> str:
    """Every status word as the screens show it, then what it means."""
    lines = []
    for label, state, meaning in STATUS_WORDS:
        word = text(label, language) + (f": {text(state, language)}" if state else "")
        lines.append(f"{word}\n    {text(meaning, language)}")
    return "\n".join(lines)


class HelpScreen(SeatModal):
    """The status words and what they mean; Esc (or F1) closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1", "close", "common.ok"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen .help-title { text-style: bold; color: $text-accent; }
    """

    def __init__(self) -> None:
        super().__init__()
        localize_bindings(self, self.seat.language)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Label(self.t("help.title"), classes="help-title")
            yield Static(help_text(self.seat.language), id="help-words", markup=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss()
