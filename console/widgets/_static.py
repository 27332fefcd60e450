"""A Static that only repaints when its content really changed (live counters tick often)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class QuietStatic(Static):
    """`show_text` skips the update when the text (with its styles) is unchanged."""

    _last: Text | None = None

    def show_text(self, text: Text) -> None:
        if self._last is not None and self._last == text:
            return
        self._last = text
        self.update(text)
