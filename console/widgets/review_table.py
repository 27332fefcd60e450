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
from itertools import zip_longest
from typing import Any, cast

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.css.styles import RenderStyles
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets.data_table import ColumnKey, DuplicateKey, Row, RowKey

from console.widgets.plain_table import PlainTable

_STYLE_MEMO = 512
"""Rows' cell styles kept across paints (see `ReviewTable._row_styles`)."""


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


class ReviewTable(PlainTable):
    """`PlainTable` of `Text` cells with one-line rows and a cheap width update (PlainTable
    drops the renders a widening leaves cut)."""

    _paint_styles: dict[tuple[str, ...], _PaintStyles] | None = None
    _paint_style: Style | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style_memo: dict[tuple[Style, int], list[Style]] = {}

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
        """Append (key, cell strings) rows, as `add_row` would one by one, in one batch.

        `add_row` sorts the columns twice, revalidates the cursor and asks for an idle pass
        per row; a page of 100 rows does each once here. Keys are checked before anything
        is added, so a duplicate (or a row wider than the columns) adds nothing at all.
        """
        columns = self.ordered_columns
        keys = [column.key for column in columns]
        batch: list[tuple[RowKey, dict[ColumnKey, Text | None]]] = []
        seen: set[RowKey] = set()
        for key, values in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations or row_key in seen:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            if len(values) > len(keys):
                raise ValueError("More values provided than there are columns.")
            seen.add(row_key)
            batch.append((row_key, dict(zip_longest(keys, [cell(v) for v in values]))))
        if not batch:
            return
        was_empty = self.row_count == 0
        locations, data, table_rows, new_rows = (
            self._row_locations,
            self._data,
            self.rows,
            self._new_rows,
        )
        index = self.row_count
        for row_key, cells in batch:
            locations[row_key] = index
            data[row_key] = cast(dict[ColumnKey, Text], cells)  # None: no cell, as add_row
            table_rows[row_key] = Row(row_key, 1, None, False)
            new_rows.add(row_key)
            index += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += len(batch)
        self.check_idle()

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

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        # A data row of plain one-line cells in row-cursor mode: its cursor, hover and zebra
        # state are the row's, so the cell style is worked out once per row, not per cell
        # (DataTable adds four styles and asks for the component styles per cell), giving
        # the very segments and styles DataTable gives. Anything else: DataTable's path.
        fast = self._plain_row(row_key, line_no, base_style, cursor_location, hover_location)
        if fast is None:
            return super()._render_line_in_row(  # type: ignore[no-any-return]
                row_key, line_no, base_style, cursor_location, hover_location
            )
        return fast

    def _plain_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]] | None:
        if (
            self.cursor_type != "row"
            or line_no != 0
            or self.fixed_columns
            or (self._labelled_row_exists and self.show_row_labels)
        ):
            return None
        row_index = self._row_locations.get(row_key)
        row = self.rows.get(row_key)
        if row_index is None or row is None or row_index < self.fixed_rows:
            return None
        if row.height != 1 or row.auto_height:
            return None
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            self.cursor_type,
            self.show_cursor,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cast(tuple[list[list[Segment]], list[list[Segment]]], cached)
        columns = self.ordered_columns
        widths = [column.get_render_width(self) for column in columns]
        values = self._data.get(row_key, {})
        pad = " " * self.cell_padding
        texts: list[str] = []
        for column, width in zip(columns, widths, strict=True):
            value = values.get(column.key)
            if value is None:
                plain = ""
            elif isinstance(value, Text) and not value.spans and not value.style:
                plain = value.plain
            else:
                return None
            room = width - 2 * len(pad)
            length = cell_len(plain)
            if room < 0 or length > room or "\n" in plain:
                return None
            texts.append(pad + plain + " " * (room - length) + pad)
        cursor = cursor_location.row == row_index
        hover = hover_location.row == row_index
        row_style = self._get_row_style(row_index, base_style)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        # (row + meta) + component + post as DataTable composes it: the meta carries no
        # colour or attribute, so adding it last gives an equal style (same meta, same link
        # id), one addition per cell instead of three.
        cell_style = row_style + component_style
        if post_style:
            cell_style = cell_style + post_style
        styles = self._row_styles(cell_style, row_index, len(texts))
        scrollable: list[list[Segment]] = [
            [Segment(text, style)] for text, style in zip(texts, styles, strict=False)
        ]
        extend_style, _ = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            False,
            False,
        )
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        remaining = max(0, self.size.width - sum(widths) - self._row_label_column_width)
        scrollable.append([Segment(" " * remaining, extend_style)])
        result: tuple[list[list[Segment]], list[list[Segment]]] = ([], scrollable)
        self._row_render_cache[cache_key] = result
        return result

    def _row_styles(self, cell_style: Style, row_index: int, columns: int) -> list[Style]:
        """The cells' styles of a row: `cell_style` plus each cell's (row, column) meta.

        They depend on nothing else, so they are kept across paints and filter changes: the
        rows on screen after a new page have the same indices and the same few cell styles
        (even, odd, cursor, hover) as before. At most `_STYLE_MEMO` rows' worth: each style
        is an object the garbage collector walks.
        """
        memo = self._style_memo
        key = (cell_style, row_index)
        styles = memo.get(key)
        if styles is None or len(styles) < columns:
            if len(memo) >= _STYLE_MEMO:
                memo.clear()
            from_meta = Style.from_meta
            styles = memo[key] = [
                cell_style + from_meta({"row": row_index, "column": index})
                for index in range(columns)
            ]
        return styles

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
