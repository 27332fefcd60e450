"""A read-only table for long listings (the supervisor's call log): plain text, one line a row.

Textual's `DataTable` takes a `str` cell as markup, and measures every cell of every new
row through Rich (markup parse, console options, measurement) when the table next idles: a
page of 100 calls × 10 columns cost more than the query that read it. Here cells are
`rich.text.Text` built from the strings given — never parsed, so a caller's "[/]" in the
notes shows as typed instead of breaking the render — and a new row widens its columns by
its cells' `cell_len`, which for single-line text is exactly what Rich would measure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def cell(value: str) -> Text:
    """A one-line, unparsed table cell."""
    return Text(value.replace("\n", " "), no_wrap=True, end="", overflow="ellipsis")


class ReviewTable(DataTable[Text]):
    """`DataTable` of `Text` cells with one-line rows and a cheap width update."""

    def add_text_rows(self, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Append (key, cell strings) rows."""
        for key, values in rows:
            self.add_row(*(cell(v) for v in values), key=key)

    def set_text_row(self, key: str, values: Sequence[str]) -> None:
        """Replace the cells of the row `key` (which must exist)."""
        for column, value in zip(self.ordered_columns, values, strict=True):
            self.update_cell(key, column.key, cell(value))

    def text_row(self, key: str) -> list[str]:
        """The row's cells as plain strings (what the supervisor reads)."""
        return [c.plain if isinstance(c, Text) else str(c) for c in self.get_row(key)]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Our cells are single-line Text, whose Rich measurement is its cell length: widen
        # the columns here, then let DataTable do the rest with no rows left to measure.
        # (Any other cell, e.g. added through the base API, takes the base path.)
        columns = self.ordered_columns
        others: list[RowKey] = []
        for row_key in new_rows:
            cells = self._data.get(row_key)
            row = self.rows.get(row_key)
            if cells is None or row is None:  # removed before the table idled
                continue
            values = [cells.get(column.key) for column in columns]
            if (
                row.height != 1
                or row.label is not None
                or not all(isinstance(v, Text) or v is None for v in values)
            ):
                others.append(row_key)
                continue
            for column, value in zip(columns, values, strict=True):
                if value is not None:
                    width = value.cell_len
                    if width > column.content_width:
                        column.content_width = width
        super()._update_dimensions(others)
