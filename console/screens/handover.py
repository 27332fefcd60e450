"""Shift handover (交接班): the incoming agent accepts it at login; the outgoing one writes it."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Label, Static, TextArea

from console.domain.labels import Language
from console.domain.reasons import reason_text
from console.screens.base import SeatModal
from console.store import FollowUp, Handover
from console.ui.intents import HandoverAcceptRequested, HandoverWriteRequested
from console.ui.texts import text


def describe_follow_ups(items: list[FollowUp], tz: dt.tzinfo,
                        language: Language = Language.ZH) -> str:
    """One line per open follow-up, due in the line's time zone (the record keeps UTC), the
    flow's own sentences ("call back … (message)") in the seat's language."""
    return "\n".join(
        f"· {f.due_at.astimezone(tz):%m-%d %H:%M} {f.owner or text('rv.fu.unowned', language)}"
        f": {reason_text(f.description, language)}" for f in items
    )


class HandoverAcceptScreen(SeatModal):
    """The previous shift's notes and open items; Enter (or F10) accepts them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "accept", "handover.accept", priority=True),
        Binding("enter", "accept", "handover.accept", show=False),
    ]

    def __init__(self, handover: Handover) -> None:
        super().__init__()
        self.handover = handover

    def compose(self) -> ComposeResult:
        h = self.handover
        with Vertical(classes="dialog", id="handover-accept"):
            yield Label(self.t("handover.title"), classes="dialog-title")
            yield Label(
                f"{self.t('handover.from')}: {h.outgoing}  "
                f"{h.written_at.astimezone(self.seat.settings.timezone):%Y-%m-%d %H:%M}",
                markup=False,
            )
            with VerticalScroll():
                yield Label(self.t("handover.notes"), classes="section")
                # What the last shift typed: shown as written, never read as markup.
                yield Static(h.notes or self.t("seat.none"), id="handover-notes", markup=False)
                yield Label(self.t("handover.open"), classes="section")
                yield Static(
                    h.open_items or self.t("seat.none"), id="handover-open", markup=False
                )
                yield Label(self.t("handover.followups"), classes="section")
                yield Static("…", id="handover-followups", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        seat = self.seat

        def load() -> None:
            items = seat.open_follow_ups()
            seat.call_from_thread(self._show_follow_ups, items)

        seat.run_in_thread(load, "follow-ups")

    def _show_follow_ups(self, items: list[FollowUp]) -> None:
        self.query_one("#handover-followups", Static).update(
            describe_follow_ups(items, self.seat.settings.timezone, self.language)
            or self.t("seat.none")
        )

    def action_accept(self) -> None:
        self.post_message(HandoverAcceptRequested(self.handover))  # the app closes this


class HandoverWriteScreen(SeatModal):
    """The outgoing agent's handover: notes and open items; open follow-ups carry over."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "save", "handover.write", priority=True),
        Binding("escape", "cancel", "common.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="handover-write"):
            yield Label(self.t("handover.write_title"), classes="dialog-title")
            yield Label(self.t("handover.notes"), classes="section")
            yield TextArea(id="handover-notes-input")
            yield Label(self.t("handover.open"), classes="section")
            yield TextArea(id="handover-open-input")
            yield Label(self.t("handover.carry"), classes="section")
            yield Static("…", id="handover-carry", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        seat = self.seat

        def load() -> None:
            items = seat.open_follow_ups()
            seat.call_from_thread(self._show_carry, items)

        seat.run_in_thread(load, "follow-ups")
        self.query_one("#handover-notes-input", TextArea).focus()

    def _show_carry(self, items: list[FollowUp]) -> None:
        carry = describe_follow_ups(items, self.seat.settings.timezone, self.language)
        self.query_one("#handover-carry", Static).update(carry or self.t("seat.none"))
        area = self.query_one("#handover-open-input", TextArea)
        if carry and not area.text:
            area.text = carry

    def action_save(self) -> None:
        notes = self.query_one("#handover-notes-input", TextArea).text
        open_items = self.query_one("#handover-open-input", TextArea).text
        if not notes.strip() and not open_items.strip():
            self.seat.notify(
                self.t("handover.notes"), title=self.t("handover.write"), severity="error"
            )
            return
        self.post_message(HandoverWriteRequested(notes, open_items))  # the app closes this

    def action_cancel(self) -> None:
        self.dismiss()
