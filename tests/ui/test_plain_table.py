"""PlainTable shows people's words as typed: markup-like text neither crashes nor styles."""

from __future__ import annotations

import pytest
from rich.errors import MarkupError
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from console.widgets.plain_table import PlainTable

NOTES = ["[/]门口[b]有人[/b]", "[red]not red[/red]", "[link=x]", "plain 1024"]


class _TableApp(App[None]):
    def __init__(self, table: DataTable[object]) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table

    def on_mount(self) -> None:
        self.table.add_column("note", key="note")
        for i, note in enumerate(NOTES):
            self.table.add_row(note, key=str(i))


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
