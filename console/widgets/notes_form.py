"""The call notes form: category, caller, contact, address, content, action, result, due.

Every change restarts a short timer; when it fires the form posts `NotesForm.Edited` with
all fields, so the app saves while the agent types without a write per keystroke.
`flush()` posts at once (hang-up, close) so nothing typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Select, TextArea

from console.domain.labels import Category, Language, Outcome
from console.domain.text import find_forbidden_phrases
from console.ui.notes import CallNotes
from console.ui.texts import text

_INPUTS = ("caller_name", "contact", "address", "action", "follow_up_due")


class NotesForm(VerticalScroll):
    """The form; its parent handles `Edited`."""

    @dataclass
    class Edited(Message):
        """The notes changed (debounced); `version` grows with every edit."""

        form: NotesForm
        notes: CallNotes
        version: int

    @dataclass
    class Typed(Message):
        """The notes changed, at once (no debounce, nothing saved): the seat keeps them, so
        a console closed inside the debounce still has what was typed to save."""

        notes: CallNotes
        version: int

    def __init__(
        self,
        language: Language,
        notes: CallNotes | None = None,
        debounce: float = 0.4,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.language = language
        self._initial = notes or CallNotes()
        self.debounce = debounce
        self.version = 0
        self._timer: Timer | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        lang = self.language
        n = self._initial
        yield Label(text("notes.category", lang))
        yield Select(
            [(c.label(lang), c.value) for c in Category],
            prompt=text("notes.category", lang),
            value=n.category or Select.NULL,
            id="category",
        )
        for name in ("caller_name", "contact", "address"):
            yield Label(text(f"notes.{name}", lang))
            yield Input(getattr(n, name), id=name)
        yield Label(text("notes.content", lang))
        yield TextArea(n.content, id="content")
        yield Label("", id="forbidden", markup=False)
        yield Label(text("notes.action", lang))
        yield Input(n.action, id="action")
        yield Label(text("notes.result", lang))
        yield Select(
            [(o.label(lang), o.value) for o in Outcome],
            prompt=text("notes.result", lang),
            value=n.result or Select.NULL,
            id="result",
        )
        yield Label(text("notes.follow_up_due", lang))
        yield Input(n.follow_up_due, placeholder=text("notes.due_hint", lang), id="follow_up_due")
        yield Label("", id="saved")

    @property
    def notes(self) -> CallNotes:
        """The form's current content."""

        def sel(widget_id: str) -> str:
            value = self.query_one(f"#{widget_id}", Select).value
            return value if isinstance(value, str) else ""

        return CallNotes(
            category=sel("category"),
            result=sel("result"),
            content=self.query_one("#content", TextArea).text,
            **{name: self.query_one(f"#{name}", Input).value for name in _INPUTS},
        )

    def _changed(self) -> None:
        self.version += 1
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.debounce, self.flush)
        if not self._loading:
            self.post_message(self.Typed(self.notes, self.version))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._changed()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        hits = find_forbidden_phrases(event.text_area.text)
        warning = ""
        if hits:
            warning = f"{text('call.forbidden', self.language)}: " + ", ".join(
                f"「{h.phrase}」" for h in hits
            )
        self.query_one("#forbidden", Label).update(warning)
        self._changed()

    def take(self) -> CallNotes:
        """The current notes, cancelling the pending debounce (the caller saves them)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        return self.notes

    def flush(self) -> CallNotes:
        """Post the current notes now (cancels the pending debounce); returns them."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        notes = self.notes
        self.post_message(self.Edited(self, notes, self.version))
        return notes

    def mark_saved(self, version: int) -> None:
        if version == self.version:
            self.query_one("#saved", Label).update(text("notes.saved", self.language))
