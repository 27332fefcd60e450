"""A DataTable whose text cells are shown as typed, never read as Rich markup."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text, TextType
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class PlainTable(DataTable[Any]):
    """DataTable for cells that carry people's words: notes, summaries, names, numbers.

    DataTable reads a string cell as Rich markup, so a note typed as "[/]门口" raised a
    MarkupError while drawing and stopped the console. Here a string becomes plain `Text`
    on the way in; cells that are already renderables pass unchanged.

    It also never shows a cell cut to a column's old width. Textual 8.2.8 widens an
    auto-width column on idle, after the new rows are in, but keys its rendered cells and
    lines by an update count that the widening does not change: a frame drawn between
    `add_row` and that idle is kept, cut to the old width, until something else changes
    the table. A reloaded follow-up list showed its callbacks column as `1×` for good
    instead of `1× 回访占线` (ci at 386af3d). Here a widening drops those renders.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drawn_widths: list[int] = []
        """The columns' widths the cached renders were made at."""

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Compared with the widths the renders were made at, not with those before this
        # call: a subclass may widen its columns itself first (ReviewTable does).
        super()._update_dimensions(new_rows)
        widths = [column.get_render_width(self) for column in self.ordered_columns]
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            self._clear_caches()
            self._update_count += 1  # the cache keys of renders made at the old widths
            self.refresh()

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: TextType | None = None,
    ) -> RowKey:
        plain = [Text(cell) if isinstance(cell, str) else cell for cell in cells]
        return super().add_row(*plain, height=height, key=key, label=label)
