"""The gate post at night (安管门岗): the calls forwarded to it, and a note on each.

Duty rules §1: forwarded calls are in the duty record too, and the gate post can add notes
to them, which the front desk reads in the morning review. A sealed record is never edited:
a note is an amendment of the call's `notes` (the old text kept, the note appended with
who and when), so the morning review shows it and the record's history keeps both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from console.callflow.events import FlowEvent
from console.screens.base import SeatModal, SeatScreen_
from console.store import CallRecord
from console.ui.intents import GateNoteRequested, LogoutRequested
from console.ui.model import LiveCall
from console.widgets.plain_table import PlainTable

WINDOW = dt.timedelta(hours=24)
"""How far back the gate post's list reaches: the whole of tonight and last night."""


def note_line(existing: str | None, who: str, at: dt.datetime, note: str) -> str:
    """The call's notes with the gate post's note appended, signed and timed."""
    line = f"[门岗 {who} {at:%m-%d %H:%M}] {note.strip()}"
    return f"{existing.rstrip()}\n{line}" if existing and existing.strip() else line


class GatePostScreen(SeatScreen_):
    """Forwarded calls of the last 24 hours, newest first; Enter adds a note to one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "note", "key.note"),
        Binding("r", "reload", "rv.refresh"),
        Binding("l", "logout", "common.logout"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[CallRecord] = []
        self._asked = 0
        """Reloads started so far (on the UI thread)."""
        self._shown = 0
        """The reload whose answer is on screen."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(self.t("gate.title"), classes="section")
        yield Static("", id="gate-status")
        yield PlainTable(id="gate-calls", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.query_one("#gate-calls", DataTable).add_columns(*self.labels())  # until loaded
        self.action_reload()
        self.set_interval(30.0, self.action_reload)

    def labels(self) -> list[Text]:
        return [Text(label) for label in self.t("gate.columns").split("|")]

    def action_reload(self) -> None:
        seat = self.seat
        self._asked += 1
        asked = self._asked

        def load() -> None:
            now = seat.clock.now()
            calls = seat.store.gate_post_calls(now - WINDOW, now + dt.timedelta(minutes=1))
            seat.call_from_thread(self.show, calls, asked)

        seat.run_in_thread(load, "gate post calls")

    def show(self, calls: list[CallRecord], asked: int) -> None:
        """Fill the list with `calls`, the answer to reload number `asked`.

        An answer older than the one on screen is dropped: reloads run side by side (the
        timer's and the one after a note), and one that read before a note was stored can
        answer after one that read it.

        The columns are rebuilt with their widths measured here, not left to the table's
        auto width: that is applied in the table's idle handler, and a screen refresh
        before it caches the cells cut at the old width (the cache key holds no width),
        so a note that widened its column stayed hidden (Textual issue #3533).
        """
        if not self.drawable or asked < self._shown:
            return
        self._shown = asked
        self.calls = sorted(calls, key=lambda c: c.ring_at, reverse=True)
        tz = self.seat.settings.timezone
        rows = [
            (
                Text(c.ring_at.astimezone(tz).strftime("%m-%d %H:%M")),
                Text(c.caller_number or ""),
                Text(c.forward_result or ""),
                Text((c.notes or "").replace("\n", " / ")[-60:]),  # plain text, never markup
            )
            for c in self.calls
        ]
        labels = self.labels()
        table = self.query_one("#gate-calls", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        for i, label in enumerate(labels):
            table.add_column(label, width=max([label.cell_len, *(r[i].cell_len for r in rows)]))
        for c, cells in zip(self.calls, rows, strict=True):
            table.add_row(*cells, key=c.key)
        if self.calls:
            table.move_cursor(row=min(row, len(self.calls) - 1))
        self.query_one("#gate-status", Static).update(
            self.t("gate.count").format(n=len(self.calls))
        )

    def selected(self) -> CallRecord | None:
        table = self.query_one("#gate-calls", DataTable)
        if not self.calls or table.cursor_row < 0 or table.cursor_row >= len(self.calls):
            return None
        return self.calls[table.cursor_row]

    def action_note(self) -> None:
        call = self.selected()
        if call is None:
            self.seat.notify(self.t("gate.none"), title=self.t("gate.title"), severity="warning")
            return
        self.app.push_screen(GateNoteScreen(call, self._save_note))

    @on(DataTable.RowSelected, "#gate-calls")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_note()

    def _save_note(self, call: CallRecord, note: str) -> None:
        self.post_message(GateNoteRequested(call.key, note))  # the app writes it

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        if event is None:  # the seat changed (a note written): read the list again
            self.action_reload()

    def action_logout(self) -> None:
        self.post_message(LogoutRequested())


class GateNoteScreen(SeatModal):
    """One note for one forwarded call; empty is refused, Escape saves nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def __init__(self, call: CallRecord, on_note: Callable[[CallRecord, str], None]) -> None:
        super().__init__()
        self.call = call
        self.on_note = on_note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="gate-note"):
            yield Label(
                f"{self.t('gate.note_for')} {self.call.caller_number or ''}",
                classes="dialog-title",
                markup=False,  # the caller's number, as the INVITE gave it
            )
            yield Input(id="gate-note-text", max_length=500)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#gate-note-text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if not note:
            self.seat.notify(self.t("gate.need_note"), title=self.t("gate.title"),
                             severity="error")
            return
        self.dismiss()
        self.on_note(self.call, note)

    def action_cancel(self) -> None:
        self.dismiss()
