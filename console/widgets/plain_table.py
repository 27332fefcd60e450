"""A DataTable whose text cells are shown as typed, never read as Rich markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text, TextType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class PlainTable(DataTable[Any]):
    """DataTable for cells that carry people's words: notes, summaries, names, numbers.

    DataTable reads a string cell as Rich markup, so a note typed as "[/]门口" raised a
    MarkupError while drawing and stopped the console. Here a string becomes plain `Text`
    on the way in; cells that are already renderables pass unchanged.
    """

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        plain = [Text(cell) if isinstance(cell, str) else cell for cell in cells]
        return super().add_row(*plain, height=height, key=key, label=label)
