"""PlainTable shows people's words as typed: markup-like text neither crashes nor styles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.errors import MarkupError
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console.widgets.plain_table import PlainTable
from console.widgets.review_table import ReviewTable

NOTES = ["[/]门口[b]有人[/b]", "[red]not red[/red]", "[link=x]", "plain 1024"]


class _TableApp(App[None]):
    """One table, filled at mount: the notes above, or what a test gives."""

    def __init__(self, table: DataTable[object],
                 fill: Callable[[DataTable[object]], None] | None = None) -> None:
        super().__init__()
        self.table = table
        self.fill = fill or _notes

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        self.fill(self.table)


def _notes(table: DataTable[object]) -> None:
    table.add_column("note", key="note")
    for i, note in enumerate(NOTES):
        table.add_row(note, key=str(i))


async def test_markup_like_notes_are_shown_as_typed() -> None:
    app = _TableApp(PlainTable())
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        shown = [app.table.get_cell(str(i), "note") for i in range(len(NOTES))]
        assert all(isinstance(cell, Text) for cell in shown)
        assert [cell.plain for cell in shown] == NOTES
        assert all(not cell.spans and not cell.style for cell in shown)
        assert app.is_running  # drawn without a MarkupError
    assert app.return_code in (None, 0)


async def test_a_plain_datatable_still_dies_on_such_a_note() -> None:
    """Why PlainTable exists: Textual's own table reads '[/]' as markup and fails."""
    app = _TableApp(DataTable())
    with pytest.raises(MarkupError):
        async with app.run_test(size=(60, 10)) as pilot:
            await pilot.pause()


def _add(table: DataTable[object], key: str, *cells: str) -> None:
    """A row as each of our tables takes one (ReviewTable: in a batch of text rows)."""
    if isinstance(table, ReviewTable):
        table.add_text_rows([(key, cells)])
    else:
        table.add_row(*cells, key=key)


def _a_follow_up_without_callbacks(table: DataTable[object]) -> None:
    """A list as the follow-ups screen first shows it: the "回访" column as wide as its name."""
    table.add_column("事项", key="what")
    table.add_column("回访", key="callbacks")
    _add(table, "fu-1", "回电 3号楼 漏水", "")


def _reload_drawn_before_idle(table: DataTable[object]) -> None:
    """The reload (clear, then the rows again), and a frame drawn before the table's idle
    widens the column."""
    table.clear()
    _add(table, "fu-1", "回电 3号楼 漏水", "1× 回访占线")
    table.render_line(1)


def _row_text(table: DataTable[object]) -> str:
    return "".join(segment.text for segment in table.render_line(1))


async def _reloaded(table: DataTable[object]) -> str:
    app = _TableApp(table, _a_follow_up_without_callbacks)
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        assert "回电 3号楼 漏水" in _row_text(table)
        _reload_drawn_before_idle(table)
        for _ in range(5):  # idles: the column is widened by now
            await pilot.pause()
        return _row_text(table)


@pytest.mark.parametrize("table", [PlainTable, ReviewTable])
async def test_a_column_widened_by_a_reload_shows_the_whole_cell(
    table: type[DataTable[object]],
) -> None:
    """The follow-ups list showed `1×` for good instead of `1× 回访占线` (ci at 386af3d).
    The review's tables (call log, KPIs) widen their columns their own way, on the same
    idle: the same renders must go."""
    assert "1× 回访占线" in await _reloaded(table())


async def test_a_plain_datatable_keeps_the_cut_cell() -> None:
    """Why PlainTable drops its renders: Textual 8.2.8's own table keeps the frame cut."""
    row = await _reloaded(DataTable())
    assert "1×" in row and "1× 回访占线" not in row
