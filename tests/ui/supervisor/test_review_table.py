"""ReviewTable's fast paths draw exactly what Textual's DataTable draws, and add rows as it does.

Each check renders the same table twice in one app: once through ReviewTable's shortcuts and
once with them switched off (DataTable's own `_render_line_in_row` / `_render_cell`), then
compares every visible line segment by segment: text, visible style and the mouse metadata
(row, column) that clicks and hover read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import DuplicateKey

from console.widgets.review_table import ReviewTable, cell

ROWS = [
    (
        f"k{i}",
        (f"2026-03-{1 + i % 28:02d} 08:{i % 60:02d}", f"1390000{i:04d}", "电梯困人 #" + str(i)),
    )
    for i in range(60)
]


class TableApp(App[None]):
    def __init__(self, **table_args: Any) -> None:
        super().__init__()
        self.table_args = table_args
        self.highlighted: list[str] = []

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self.highlighted.append(message.data_table.id or "")

    def compose(self) -> ComposeResult:
        yield ReviewTable(id="t", **self.table_args)
        yield ReviewTable(id="reference", **self.table_args)


def lines(table: ReviewTable) -> list[list[tuple[str, Any, Any]]]:
    """Every visible line as (text, style without meta, meta) segments, caches cleared first."""
    table._clear_caches()
    table._styles_cache.clear()
    strips: list[Strip] = table.render_lines(table.size.region)
    return [[(seg.text, _visible(seg), _meta(seg)) for seg in strip] for strip in strips]


def _visible(seg: Segment) -> Any:
    style = seg.style
    return (
        None
        if style is None
        else (style.color, style.bgcolor, style._attributes, style._set_attributes)
    )


def _meta(seg: Segment) -> Any:
    style = seg.style
    return None if style is None else style.meta


def base_only(table: ReviewTable) -> Iterator[None]:
    """Switch ReviewTable's shortcuts off for one render (DataTable's own path)."""
    table._plain_row = lambda *a, **k: None  # type: ignore[method-assign]
    table._plain_cell = lambda *a, **k: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del table._plain_row
        del table._plain_cell


def compare(table: ReviewTable) -> int:
    fast = lines(table)
    gen = base_only(table)
    next(gen)
    try:
        slow = lines(table)
    finally:
        next(gen, None)
    assert len(fast) == len(slow)
    for y, (a, b) in enumerate(zip(fast, slow, strict=True)):
        assert a == b, f"line {y} differs"
    return len(fast)


@pytest.mark.parametrize("zebra", [True, False])
async def test_fast_rows_draw_what_datatable_draws(zebra: bool) -> None:
    app = TableApp(cursor_type="row", zebra_stripes=zebra)
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one("#t", ReviewTable)
        table.add_columns("来电时间", "号码", "内容")
        table.add_text_rows(ROWS)
        await pilot.pause()
        assert compare(table) == 20
        table.move_cursor(row=3)  # cursor row
        table.hover_coordinate = Coordinate(5, 1)  # hover row
        table._set_hover_cursor(True)
        await pilot.pause()
        assert compare(table) == 20
        table.focus()  # focused: other cursor colours
        await pilot.pause()
        assert compare(table) == 20
        table.scroll_to(y=30, animate=False)  # scrolled, odd/even rows elsewhere
        await pilot.pause()
        assert compare(table) == 20


async def test_cell_cursor_and_wide_or_styled_cells_take_datatable_path() -> None:
    app = TableApp(cursor_type="cell")
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one("#t", ReviewTable)
        col_a, _, _ = table.add_columns("A", "B", "C")
        table.add_text_rows(ROWS[:5])
        table.add_row(Text("styled", style="bold"), "[b]markup[/b]", key="x")
        await pilot.pause()
        compare(table)
        assert (
            table._plain_row(
                table.rows.__iter__().__next__(),
                0,
                table.rich_style,
                table.cursor_coordinate,
                table.hover_coordinate,
            )
            is None
        )
        table.update_cell("k0", col_a, Text("a cell much wider than its column " * 3))
        await pilot.pause()
        compare(table)


async def test_add_text_rows_is_add_row_in_a_batch() -> None:
    app = TableApp(cursor_type="row")
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.query_one("#t", ReviewTable)
        reference = app.query_one("#reference", ReviewTable)  # filled through add_row
        for t in (table, reference):
            t.add_columns("来电时间", "号码", "内容")
        table.add_text_rows(ROWS[:30])
        table.add_text_rows(ROWS[30:])
        for key, values in ROWS:
            reference.add_row(*(cell(v) for v in values), key=key)
        await pilot.pause()
        assert table.row_count == reference.row_count == len(ROWS)
        assert list(table.rows) == list(reference.rows)
        for key, _ in ROWS:
            assert table.text_row(key) == reference.text_row(key)
        assert table.text_row("k7") == list(ROWS[7][1])
        widths = [c.content_width for c in table.ordered_columns]
        assert widths == [c.content_width for c in reference.ordered_columns]
        assert widths[2] == max(cell_len(r[1][2]) for r in ROWS)  # CJK cells count double
        assert table.virtual_size == reference.virtual_size
        # the first row added highlights the cursor, once per table
        assert sorted(app.highlighted) == ["reference", "t"]
        assert compare(table) > 10
        # bad input: a duplicate key or too many cells adds nothing of the batch
        with pytest.raises(DuplicateKey):
            table.add_text_rows([("new1", ("a", "b", "c")), ("k3", ("a", "b", "c"))])
        with pytest.raises(DuplicateKey):
            table.add_text_rows([("new1", ("a", "b", "c")), ("new1", ("a", "b", "c"))])
        with pytest.raises(ValueError):
            table.add_text_rows([("new2", ("a", "b", "c", "d"))])
        assert table.row_count == len(ROWS) and "new1" not in table.rows
        table.add_text_rows([])
        assert table.row_count == len(ROWS)
