"""F9 on a call: an urgent or major event (突发事件, duty rules §3.7) is escalated.

The agent writes one line for the supervisor (pre-filled from the notes); the report is
filed in the duty record against the call (`report_event`, journaled while the database is
down), and the supervisor sees it among the event reports. An empty summary is refused with
a message; Escape files nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Label

from console.screens.base import SeatModal


class EventReportScreen(SeatModal):
    """Ask for the event's summary; `on_filed(summary)` runs once it is not empty."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def __init__(self, caller: str, draft: str, on_filed: Callable[[str], None]) -> None:
        super().__init__()
        self.caller = caller
        self.draft = draft
        self.on_filed = on_filed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="event-report"):
            yield Label(  # the caller's number, as the INVITE gave it
                f"{self.t('event.title')}  {self.caller}", classes="dialog-title", markup=False
            )
            yield Label(self.t("event.summary"))
            yield Input(self.draft, id="event-summary", max_length=500)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#event-summary", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        summary = event.value.strip()
        if not summary:
            self.seat.notify(
                self.t("event.need_summary"), title=self.t("event.title"), severity="error"
            )
            return
        self.dismiss()
        self.on_filed(summary)

    def action_cancel(self) -> None:
        self.dismiss()
