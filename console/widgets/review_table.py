"""A read-only table for long listings (the supervisor's call log): plain text, one line a row.

Textual's `DataTable` takes a `str` cell as markup, measures every cell of every new row
through Rich (markup parse, console options, measurement) when the table next idles, and
renders each visible cell through Rich's layout machinery (Styled(Padding(Text)) →
render_lines): a page of 100 calls cost more than the query that read it, and a repaint of
a 40-row screen about as much again. Here cells are `rich.text.Text` built from the strings
given — never parsed, so a caller's "[/]" in the notes shows as typed instead of breaking
the render — a new row widens its columns by its cells' `cell_len` (what Rich measures for
single-line text), and a plain one-line cell that fits its column is drawn as one segment
with the very style DataTable would give it (after DataTable's own `simplify()` the line
is the same); anything else (header, wider text, styled text) takes DataTable's path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.css.styles import RenderStyles
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def cell(value: str) -> Text:
    """A one-line, unparsed table cell."""
    return Text(value.replace("\n", " "), no_wrap=True, end="", overflow="ellipsis")


class _PaintStyles:
    """A component's styles whose `rich_style` is worked out once per paint."""

    def __init__(self, styles: RenderStyles) -> None:
        self._styles = styles
        self._rich: Style | None = None

    @property
    def rich_style(self) -> Style:
        if self._rich is None:
            self._rich = self._styles.rich_style
        return self._rich

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)


class ReviewTable(DataTable[Text]):
    """`DataTable` of `Text` cells with one-line rows and a cheap width update."""

    _paint_styles: dict[tuple[str, ...], _PaintStyles] | None = None
    _paint_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable asks for its own style and the header and row (zebra) component styles
        # once per line, and each answer walks the ancestors for the background: within
        # one paint nothing can change them, so each is worked out once.
        self._paint_styles = {}
        self._paint_style = None
        try:
            return super().render_lines(crop)
        finally:
            self._paint_styles = None
            self._paint_style = None

    @property
    def rich_style(self) -> Style:
        if self._paint_styles is None:
            return super().rich_style
        if self._paint_style is None:
            self._paint_style = super().rich_style
        return self._paint_style

    def get_component_styles(self, *names: str) -> RenderStyles:
        memo = self._paint_styles
        if memo is None:
            return super().get_component_styles(*names)
        found = memo.get(names)
        if found is None:
            found = memo[names] = _PaintStyles(super().get_component_styles(*names))
        return cast(RenderStyles, found)

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

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        fast = self._plain_cell(row_index, column_index, width)
        if fast is None:
            return super()._render_cell(  # type: ignore[no-any-return]
                row_index, column_index, base_style, width, cursor, hover
            )
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        style = style + component_style
        if post_style:
            style = style + post_style
        return [[Segment(fast, style)]]

    def _plain_cell(self, row_index: int, column_index: int, width: int) -> str | None:
        """The padded line of a plain one-line data cell that fits `width`; None otherwise."""
        if row_index < 0 or column_index < 0:
            return None
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        row = self.rows.get(row_key)
        if row is None or row.height != 1 or row.auto_height:
            return None
        value = self._data.get(row_key, {}).get(column_key)
        if value is None:
            plain = ""
        elif isinstance(value, Text) and not value.spans and not value.style:
            plain = value.plain
        else:
            return None
        pad = self.cell_padding
        room = width - 2 * pad
        length = cell_len(plain)
        if room < 0 or length > room or "\n" in plain:
            return None
        return " " * pad + plain + " " * (room - length + pad)
